package io.paratrain.sparktrainer.exceptions;

/**
 * A data-parallel fit failed because a replica's task failed, died or stopped answering, and the barrier stage was
 * aborted (after Spark's retries, when checkpoints make the stage retryable). The message carries every task's own
 * error, root causes first (a peer's report that another rank failed comes after that rank's own error).
 */
public class ReplicaFailedException extends TrainerException
{
    public ReplicaFailedException(final String message, final Throwable cause)
    {
        super(message, cause);
    }
}
