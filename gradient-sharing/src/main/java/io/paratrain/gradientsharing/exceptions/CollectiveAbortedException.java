package io.paratrain.gradientsharing.exceptions;

/**
 * A wait for a peer ended early because the caller's {@link io.paratrain.gradientsharing.AbortSignal} said so or
 * the waiting thread was interrupted; the message names the operation, what it waited for and the reason.
 */
public class CollectiveAbortedException extends CollectiveException
{
    public CollectiveAbortedException(final String message)
    {
        super(message);
    }
}
