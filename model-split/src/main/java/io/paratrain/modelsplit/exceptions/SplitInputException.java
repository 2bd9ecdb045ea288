package io.paratrain.modelsplit.exceptions;

/** A minibatch or array handed to a split layer has the wrong shape, or carries a features mask. */
public class SplitInputException extends ModelSplitException
{
    public SplitInputException(final String message)
    {
        super(message);
    }
}
