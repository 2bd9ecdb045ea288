package io.paratrain.gradientsharing.exceptions;

/** Ranks passed inconsistent or invalid arguments (different lengths, a root out of range, too large a message). */
public class CollectiveInputException extends CollectiveException
{
    public CollectiveInputException(final String message)
    {
        super(message);
    }
}
