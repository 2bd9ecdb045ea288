package io.paratrain.gradientsharing.exceptions;

/** Root of every error raised by gradient-sharing; catch a subclass to handle one kind of failure. */
public class CollectiveException extends RuntimeException
{
    public CollectiveException(final String message)
    {
        super(message);
    }

    public CollectiveException(final String message, final Throwable cause)
    {
        super(message, cause);
    }
}
