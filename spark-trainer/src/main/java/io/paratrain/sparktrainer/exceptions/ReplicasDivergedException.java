package io.paratrain.sparktrainer.exceptions;

/** The replicas' parameters stopped being identical; names the step and the ranks' checksums. */
public class ReplicasDivergedException extends TrainerException
{
    public ReplicasDivergedException(final String message)
    {
        super(message);
    }
}
