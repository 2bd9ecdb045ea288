package io.paratrain.gradientsharing.exceptions;

/** The collective was closed (or failed earlier and can no longer be used). */
public class CollectiveClosedException extends CollectiveException
{
    public CollectiveClosedException(final String message)
    {
        super(message);
    }
}
