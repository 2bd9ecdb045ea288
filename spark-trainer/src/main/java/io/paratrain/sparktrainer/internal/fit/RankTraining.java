package io.paratrain.sparktrainer.internal.fit;

import io.paratrain.sparktrainer.internal.snapshot.ModelSnapshot;
import io.paratrain.sparktrainer.internal.snapshot.NetworkModel;
import org.nd4j.linalg.dataset.api.MultiDataSet;

/**
 * One rank's part of a fit, built by {@link Layout#start}. A driving rank is called by the pipeline's
 * {@link StepLoop}: {@link #beginEpoch}, {@link #step} and {@link #afterStep} per step, {@link #endEpoch}, then
 * {@link #finish}. A following rank (see {@link Layout#everyRankDrives}) calls {@link #followOne} until it returns
 * false, then {@link #finish}.
 */
public interface RankTraining
{
    /** At the start of an epoch that starts at its first step (a resumed epoch keeps the checkpoint's state). */
    default void beginEpoch(final int epoch)
    {
    }

    /**
     * One global step on this rank's share of it.
     *
     * @param examples the step's examples over all ranks (the global batch size DL4J's updater divides by).
     * @return the step's mean loss (without regularization terms).
     */
    double step(MultiDataSet batch, int examples);

    /** After a step, {@code stepsDone} steps into the fit (periodic replica checks). */
    default void afterStep(final long stepsDone, final int epoch, final int step)
    {
    }

    /** Milliseconds the last step spent waiting for and moving data between ranks. */
    double lastCommunicationMs();

    /** DL4J's epoch counter moves on (schedules by epoch see it). */
    void endEpoch();

    /**
     * The whole model with its complete updater state, to checkpoint. Every driving rank calls it at the same
     * step (it may be a collective operation); only rank 0's result is written.
     */
    NetworkModel checkpointModel();

    /** A following rank: serves rank 0's next command; false once rank 0 has finished. */
    default boolean followOne()
    {
        throw new IllegalStateException("this rank drives the steps; it does not follow");
    }

    /** After the last step: the trained model on rank 0, null elsewhere. Every rank calls it. */
    ModelSnapshot finish();
}
