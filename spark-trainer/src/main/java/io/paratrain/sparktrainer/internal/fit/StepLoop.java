package io.paratrain.sparktrainer.internal.fit;

import io.paratrain.sparktrainer.StepMetrics;
import io.paratrain.sparktrainer.internal.checkpoint.ReplicaCheckpoints;
import io.paratrain.sparktrainer.internal.data.ExamplePlan;
import io.paratrain.sparktrainer.internal.driver.ProgressReporter;
import org.apache.spark.TaskContext;
import org.apache.spark.util.LongAccumulator;
import io.paratrain.sparktrainer.internal.data.Minibatches;

/**
 * The epochs of a driving rank, for every layout: from the resumed position to the last step, with the kill check,
 * progress (rank 0), checkpoints and the Spark UI's epoch counter in one place.
 */
final class StepLoop
{
    private final ExamplePlan plan;
    private final int epochs;
    private final int rank;
    private final ProgressReporter progress;
    private final LongAccumulator epochsDone;

    StepLoop(final ExamplePlan plan, final int epochs, final int rank, final ProgressReporter progress,
        final LongAccumulator epochsDone)
    {
        this.plan = plan;
        this.epochs = epochs;
        this.rank = rank;
        this.progress = progress;
        this.epochsDone = epochsDone;
    }

    void run(final RankTraining training, final Minibatches batches, final ReplicaCheckpoints checkpoints,
        final ReplicaCheckpoints.Position start)
    {
        final TaskContext task = TaskContext.get();
        final int stepsPerEpoch = plan.stepsPerEpoch();
        long globalStep = start.globalStep();
        for (int epoch = start.epoch(); epoch < epochs; epoch++)
        {
            final long epochStartNs = System.nanoTime();
            final int firstStep = epoch == start.epoch() ? start.step() : 0;
            if (firstStep == 0)
            {
                training.beginEpoch(epoch); // mid-epoch, the checkpoint restored the state an epoch start sets
            }
            double lossSum = 0;
            for (int step = firstStep; step < stepsPerEpoch; step++, globalStep++)
            {
                // Spark kills the other tasks of a failed barrier stage by flag: stop at the next step boundary.
                task.killTaskIfInterrupted();
                final long stepStartNs = System.nanoTime();
                final double loss = training.step(batches.get(step), plan.stepExamples(step));
                lossSum += loss;
                training.afterStep(globalStep + 1, epoch, step);
                if (rank == 0)
                {
                    progress.step(new StepMetrics(epoch, step, stepsPerEpoch, globalStep, plan.stepExamples(step),
                        loss, (System.nanoTime() - stepStartNs) / 1e6, training.lastCommunicationMs()));
                }
                checkpoints.afterStep(epoch, step, globalStep + 1);
            }
            training.endEpoch();
            checkpoints.afterEpoch(epoch, globalStep);
            if (rank == 0)
            {
                epochsDone.add(1);
                final double seconds = (System.nanoTime() - epochStartNs) / 1e9;
                progress.epoch(epoch, lossSum / Math.max(1, stepsPerEpoch - firstStep),
                    plan.totalExamples() * (stepsPerEpoch - firstStep) / (double)stepsPerEpoch / seconds);
            }
        }
    }
}
