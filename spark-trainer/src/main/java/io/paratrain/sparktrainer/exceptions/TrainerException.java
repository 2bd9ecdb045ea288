package io.paratrain.sparktrainer.exceptions;

/** Root of the errors raised by spark-trainer; catch a subclass to handle one kind of failure. */
public class TrainerException extends RuntimeException
{
    public TrainerException(final String message)
    {
        super(message);
    }

    public TrainerException(final String message, final Throwable cause)
    {
        super(message, cause);
    }
}
