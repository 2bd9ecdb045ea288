package io.paratrain.sparktrainer;

/** Receives progress on the driver while a fit runs. Called from one thread, in step order. */
public interface TrainingListener
{
    void onStep(StepMetrics metrics);

    default void onEpochEnd(final int epoch, final double meanLoss, final double samplesPerSecond)
    {
    }
}
