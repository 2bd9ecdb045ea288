package io.paratrain.gradientsharing.exceptions;

/** The Aeron transport failed (publication closed, driver unavailable, position limit reached). */
public class TransportException extends CollectiveException
{
    public TransportException(final String message)
    {
        super(message);
    }

    public TransportException(final String message, final Throwable cause)
    {
        super(message, cause);
    }
}
