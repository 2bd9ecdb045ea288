package io.paratrain.modelsplit.exceptions;

/**
 * A collective operation between the coordinator and the shards failed: a shard died, stalled past the
 * collective's timeout, or disagreed about the operation. The message names the rank, step, layer and phase; the
 * cause is the gradient-sharing exception (for example a {@code CollectiveTimeoutException} naming the silent
 * rank). The ring cannot be used afterwards.
 */
public class ShardFailedException extends ModelSplitException
{
    public ShardFailedException(final String message, final Throwable cause)
    {
        super(message, cause);
    }
}
