package io.paratrain.gradientsharing.exceptions;

/** A configuration field or endpoint is invalid; the message names the field and the value. */
public class CollectiveConfigException extends CollectiveException
{
    public CollectiveConfigException(final String message)
    {
        super(message);
    }
}
