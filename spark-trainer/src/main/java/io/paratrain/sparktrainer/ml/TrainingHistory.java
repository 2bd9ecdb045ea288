package io.paratrain.sparktrainer.ml;

import io.paratrain.sparktrainer.StepMetrics;
import io.paratrain.sparktrainer.TrainingListener;
import io.paratrain.sparktrainer.TrainingSummary;

import java.util.ArrayList;
import java.util.List;

/**
 * What a fit did, step by step and epoch by epoch, as the driver heard it.
 *
 * @param steps    every global step in order.
 * @param epochs   every epoch in order.
 * @param summary  the trainer's summary of the fit.
 */
public record TrainingHistory(List<StepMetrics> steps, List<Epoch> epochs, TrainingSummary summary)
{
    public TrainingHistory
    {
        steps = List.copyOf(steps);
        epochs = List.copyOf(epochs);
    }

    /** @param epoch 0-based; @param meanLoss mean of its steps' losses; @param samplesPerSecond over the epoch. */
    public record Epoch(int epoch, double meanLoss, double samplesPerSecond)
    {
    }

    /** Collects a history while a fit runs (the trainer calls it from one thread). */
    static final class Recorder implements TrainingListener
    {
        private final List<StepMetrics> steps = new ArrayList<>();
        private final List<Epoch> epochs = new ArrayList<>();

        @Override
        public void onStep(final StepMetrics metrics)
        {
            steps.add(metrics);
        }

        @Override
        public void onEpochEnd(final int epoch, final double meanLoss, final double samplesPerSecond)
        {
            epochs.add(new Epoch(epoch, meanLoss, samplesPerSecond));
        }

        /** The resumed attempt reports the steps from {@code globalStep} again, and the epochs from {@code epoch}. */
        @Override
        public void onRewind(final int epoch, final int step, final long globalStep)
        {
            steps.removeIf(s -> s.globalStep() >= globalStep);
            epochs.removeIf(e -> e.epoch() >= epoch);
        }

        TrainingHistory result(final TrainingSummary summary)
        {
            return new TrainingHistory(steps, epochs, summary);
        }
    }
}
