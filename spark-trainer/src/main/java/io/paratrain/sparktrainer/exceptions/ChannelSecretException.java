package io.paratrain.sparktrainer.exceptions;

/**
 * The gradient channel's HMAC key cannot be derived: the driver runs with {@code spark.authenticate=true} but
 * this executor has no Spark authentication secret (or no Spark environment at all).
 */
public class ChannelSecretException extends TrainerException
{
    public ChannelSecretException(final String message)
    {
        super(message);
    }

    public ChannelSecretException(final String message, final Throwable cause)
    {
        super(message, cause);
    }
}
