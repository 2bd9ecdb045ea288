package io.paratrain.sparktrainer;

import java.io.Serializable;

/**
 * What one global training step did, as rank 0 saw it.
 *
 * @param epoch             0-based epoch.
 * @param step              0-based step within the epoch.
 * @param stepsPerEpoch     steps in every epoch.
 * @param globalStep        0-based step since the fit began.
 * @param examples          examples in this step over all replicas.
 * @param loss              DL4J's score averaged over the step's examples (loss plus regularisation).
 * @param stepMs            wall time of the step on rank 0.
 * @param communicationMs   part of it spent in the all-reduce (waiting for peers included).
 */
public record StepMetrics(
    int epoch,
    int step,
    int stepsPerEpoch,
    long globalStep,
    int examples,
    double loss,
    double stepMs,
    double communicationMs) implements Serializable
{
    public double communicationShare()
    {
        return stepMs <= 0 ? 0 : communicationMs / stepMs;
    }
}
