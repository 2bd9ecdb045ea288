package io.paratrain.modelsplit.exceptions;

/**
 * The network uses something split training cannot reproduce exactly (a layer type, dropout, gradient
 * normalization, a non element-wise activation or updater, ...); the message names the layer and the feature.
 */
public class UnsupportedModelException extends ModelSplitException
{
    public UnsupportedModelException(final String message)
    {
        super(message);
    }
}
