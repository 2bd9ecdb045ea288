package io.paratrain.sparktrainer.internal.checkpoint;

import io.paratrain.gradientsharing.Collective;

/** The ranks that checkpoint together ({@link ReplicaCheckpoints}): what they agree on travels by an all-gather. */
public interface CheckpointGroup
{
    /** Every rank's {@code mine}, by rank. */
    byte[][] allGather(byte[] mine);

    /** Every rank of {@code collective}. */
    static CheckpointGroup of(final Collective collective)
    {
        return collective::allGather;
    }

    /** One rank alone (model split's coordinator). */
    static CheckpointGroup alone()
    {
        return mine -> new byte[][] {mine};
    }
}
