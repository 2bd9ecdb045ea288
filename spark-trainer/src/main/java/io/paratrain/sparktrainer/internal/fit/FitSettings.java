package io.paratrain.sparktrainer.internal.fit;

import io.paratrain.sparktrainer.CheckpointConfig;

import java.io.Serializable;

/**
 * What the pipeline needs of a trainer's configuration, whatever the layout (validated there).
 *
 * @param epochs              passes over the data.
 * @param collectiveTimeoutMs longest wait for another rank, and for the driver's sockets.
 * @param slotWaitMs          longest wait on the driver for a cluster to offer a task slot per rank.
 * @param ompThreadsPerRank   ND4J/BLAS threads per task; 0 = leave the backend's default.
 * @param checkpoint          periodic checkpoints and resume; null = none (and the stage is not retried).
 * @param spillAboveBytes     a rank whose routed minibatches exceed this spills them to local disk (see
 *                            {@code TrainerConfig.spillAboveBytes}).
 */
public record FitSettings(int epochs, long collectiveTimeoutMs, long slotWaitMs, int ompThreadsPerRank,
    CheckpointConfig checkpoint, long spillAboveBytes) implements Serializable
{
}
