package io.paratrain.sparktrainer.exceptions;

/** A trainer setting is invalid; the message names the field, the value and what is allowed. */
public class TrainerConfigException extends TrainerException
{
    public TrainerConfigException(final String message)
    {
        super(message);
    }
}
