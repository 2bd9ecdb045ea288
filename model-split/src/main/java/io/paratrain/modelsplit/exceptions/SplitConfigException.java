package io.paratrain.modelsplit.exceptions;

/** The split asked for cannot be made: bad shard count, a layer index out of range, more shards than columns. */
public class SplitConfigException extends ModelSplitException
{
    public SplitConfigException(final String message)
    {
        super(message);
    }
}
