package io.paratrain.sparktrainer.exceptions;

/**
 * A model-split fit failed because a shard's task failed, died or stopped answering: the barrier stage was aborted.
 * The message carries the failing task's own error (for a silent shard, the coordinator's typed timeout naming the
 * shard's rank, the step, the layer and the exchange it waited in).
 */
public class ShardLostException extends TrainerException
{
    public ShardLostException(final String message, final Throwable cause)
    {
        super(message, cause);
    }
}
