package io.paratrain.sparktrainer.exceptions;

/** A checkpoint could not be written, read, or does not fit the fit it should continue. */
public class CheckpointException extends TrainerException
{
    public CheckpointException(final String message)
    {
        super(message);
    }

    public CheckpointException(final String message, final Throwable cause)
    {
        super(message, cause);
    }
}
