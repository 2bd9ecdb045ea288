package io.paratrain.sparktrainer;

/**
 * Receives progress on the driver while a fit runs. Called one event at a time, in step order, for the newest stage
 * attempt only.
 */
public interface TrainingListener
{
    void onStep(StepMetrics metrics);

    /** {@code meanLoss} is the mean over every step of the epoch, also when the epoch was resumed mid-way. */
    default void onEpochEnd(final int epoch, final double meanLoss, final double samplesPerSecond)
    {
    }

    /**
     * Spark retried the training stage and the new attempt resumed from a checkpoint at {@code epoch}, {@code step}
     * ({@code globalStep} steps done): the steps from there on are reported again with the resumed attempt's values,
     * and what was reported for them (steps, and the ends of epochs from {@code epoch} on) no longer holds.
     */
    default void onRewind(final int epoch, final int step, final long globalStep)
    {
    }
}
