package io.paratrain.modelsplit.exceptions;

/** Root of every error model-split raises; catch a subclass to handle one kind. */
public class ModelSplitException extends RuntimeException
{
    public ModelSplitException(final String message)
    {
        super(message);
    }

    public ModelSplitException(final String message, final Throwable cause)
    {
        super(message, cause);
    }
}
