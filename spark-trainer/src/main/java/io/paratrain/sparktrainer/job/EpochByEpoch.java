package io.paratrain.sparktrainer.job;

import io.paratrain.sparktrainer.DataParallelTrainer;
import io.paratrain.sparktrainer.StepMetrics;
import io.paratrain.sparktrainer.TrainerConfig;
import io.paratrain.sparktrainer.TrainingListener;
import io.paratrain.sparktrainer.ChannelReport;
import io.paratrain.sparktrainer.TrainingSummary;
import org.apache.spark.api.java.JavaRDD;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.linalg.dataset.DataSet;

import java.util.List;

/**
 * Data-parallel training one epoch per fit, with a test evaluation after each, for the accuracy chart. The result
 * is the one multi-epoch fit gives: each fit starts from the network's parameters, updater state and iteration
 * and epoch counters, and routes the same examples in the same order. It costs one more barrier stage (set-up and
 * data routing) per epoch, but not another wait for the task slots: the job waits once, on the trainer of
 * {@link #oneEpoch}'s configuration, for all the epochs' fits.
 */
final class EpochByEpoch
{
    /** What the run did and the evaluation after the last epoch. */
    record Result(TrainingSummary summary, Evaluation evaluation)
    {
    }

    private EpochByEpoch()
    {
    }

    /** {@code config} for one epoch per fit: the configuration of {@link #fit}'s trainer. */
    static TrainerConfig oneEpoch(final TrainerConfig config)
    {
        return new TrainerConfig(config.workers(), config.batchSizePerWorker(), 1,
            config.checksumEverySteps(), config.collectiveTimeoutMs(), config.ompThreadsPerWorker(),
            config.slotWaitMs(), null, config.shardedUpdate(),
            config.spillAboveBytes(), config.directIm2col()); // the job refuses --plot with checkpoints
    }

    /**
     * Trains {@code epochs} epochs, one fit each, with {@code trainer} (of {@link #oneEpoch}'s configuration, no
     * listeners yet), evaluating on {@code test} after each.
     */
    static Result fit(final DataParallelTrainer trainer, final int epochs, final List<TrainingListener> listeners,
        final MetricsFile metrics, final JobModel model, final TrainingData train, final JavaRDD<DataSet> test)
    {
        if (trainer.config().epochs() != 1)
        {
            throw new IllegalStateException("EpochByEpoch fits one epoch at a time; the trainer's configuration has " +
                trainer.config().epochs());
        }
        final Shifted shifted = new Shifted(listeners);
        trainer.addListener(shifted);
        TrainingSummary last = null;
        Evaluation evaluation = null;
        double seconds = 0;
        ChannelReport channel = null;
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            last = train.fit(model, trainer);
            seconds += last.seconds();
            channel = channel == null ? last.channel() : channel.plus(last.channel());
            shifted.advance(last.stepsPerEpoch());
            evaluation = model.evaluate(trainer, test);
            if (metrics != null)
            {
                metrics.evaluation(epoch + 1, (long)(epoch + 1) * last.stepsPerEpoch(), evaluation.accuracy(),
                    evaluation.precision(), evaluation.recall(), evaluation.f1());
            }
        }
        final TrainingSummary summary = new TrainingSummary(last.examplesPerEpoch(), last.stepsPerEpoch(),
            epochs, seconds, last.examplesPerEpoch() * epochs / seconds, last.finalLoss(), channel);
        return new Result(summary, evaluation);
    }

    /** Renumbers the epochs and global steps of each one-epoch fit as parts of the whole run. */
    private static final class Shifted implements TrainingListener
    {
        private final List<TrainingListener> targets;
        private int epochOffset;
        private long stepOffset;

        Shifted(final List<TrainingListener> targets)
        {
            this.targets = List.copyOf(targets);
        }

        void advance(final int steps)
        {
            epochOffset++;
            stepOffset += steps;
        }

        @Override
        public void onStep(final StepMetrics m)
        {
            final StepMetrics shifted = new StepMetrics(m.epoch() + epochOffset, m.step(), m.stepsPerEpoch(),
                m.globalStep() + stepOffset, m.examples(), m.loss(), m.stepMs(), m.communicationMs());
            targets.forEach(t -> t.onStep(shifted));
        }

        @Override
        public void onEpochEnd(final int epoch, final double meanLoss, final double samplesPerSecond)
        {
            targets.forEach(t -> t.onEpochEnd(epoch + epochOffset, meanLoss, samplesPerSecond));
        }

        @Override
        public void onRewind(final int epoch, final int step, final long globalStep)
        {
            targets.forEach(t -> t.onRewind(epoch + epochOffset, step, globalStep + stepOffset));
        }
    }
}
