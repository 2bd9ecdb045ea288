package io.paratrain.sparktrainer;

import io.paratrain.sparktrainer.job.MetricsFile;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskStart;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.Adam;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Progress after Spark retried the training stage: rank 1's task is killed after the checkpoint at step 50, the
 * stage is retried (on the spare slot, while rank 0 of the failed attempt may still be running) and resumes from that
 * checkpoint. The listeners and the metrics file must follow the resumed attempt: every step once with its values,
 * every epoch's mean over all its steps, and the summary's final loss the last step's.
 */
@Timeout(300)
class RetriedProgressTest
{
    private static final int WORKERS = 2;
    private static final int BATCH = 8;
    private static final int EXAMPLES = 2_400; // 150 steps of 16 per epoch
    private static final int STEPS = EXAMPLES / (WORKERS * BATCH);
    private static final int EPOCHS = 2;
    private static final int EVERY = 50;
    /** A spare slot: the retry can start before the failed attempt's rank 0 has ended, as on a real cluster. */
    @RegisterExtension
    static final LocalSpark SPARK = new LocalSpark(WORKERS + 1);

    @TempDir
    Path dir;

    /** The listener's view: steps by global step after rewinds, epoch means, rewinds. */
    private static final class Recorder implements TrainingListener
    {
        final TreeMap<Long, StepMetrics> steps = new TreeMap<>();
        final Map<Integer, Double> epochMeans = new TreeMap<>();
        final List<Long> rewinds = new ArrayList<>();
        StepMetrics last;

        @Override
        public void onStep(final StepMetrics metrics)
        {
            assertEquals(null, steps.put(metrics.globalStep(), metrics), "step reported twice without a rewind");
            last = metrics;
        }

        @Override
        public void onEpochEnd(final int epoch, final double meanLoss, final double samplesPerSecond)
        {
            epochMeans.put(epoch, meanLoss);
        }

        @Override
        public void onRewind(final int epoch, final int step, final long globalStep)
        {
            assertEquals((long)epoch * STEPS + step, globalStep);
            rewinds.add(globalStep);
            steps.tailMap(globalStep, true).clear();
            epochMeans.keySet().removeIf(e -> e >= epoch);
        }
    }

    @Test
    void afterARetryTheDriverFollowsTheResumedAttemptAndCountsEachStepOnce() throws Exception
    {
        final JavaRDD<DataSet> data = SPARK.sc().parallelize(Networks.minibatches(Networks.examples(EXAMPLES, 17),
            5), 3).cache();
        final MultiLayerNetwork reference = Networks.mlp(new Adam(0.01), 3);
        new DataParallelTrainer(SPARK.sc(), config(null)).fit(reference, data);

        // the task of partition 1 (rank 1) of the newest barrier stage attempt
        final Map<Integer, Long> taskByPartition = new ConcurrentHashMap<>();
        final SparkListener tasks = new SparkListener()
        {
            @Override
            public void onTaskStart(final SparkListenerTaskStart start)
            {
                taskByPartition.put(start.taskInfo().index(), start.taskInfo().taskId());
            }
        };
        final Recorder recorder = new Recorder();
        final AtomicBoolean killed = new AtomicBoolean();
        final Path metricsPath = dir.resolve("metrics.jsonl");
        final MultiLayerNetwork network = Networks.mlp(new Adam(0.01), 3);
        final TrainingSummary summary;
        SPARK.sc().sc().addSparkListener(tasks);
        try (MetricsFile metrics = new MetricsFile(metricsPath))
        {
            summary = new DataParallelTrainer(SPARK.sc(), config(new CheckpointConfig(dir.resolve("ckpt").toString(),
                EVERY, 2, false)))
                .addListener(recorder)
                .addListener(metrics)
                .addListener(m ->
                {
                    // after the checkpoint at 50 steps; the kill lands a few steps later, well before step 100
                    if (m.globalStep() == EVERY + 5 && killed.compareAndSet(false, true))
                    {
                        SPARK.sc().sc().killTaskAttempt(taskByPartition.get(1), false, "test: rank 1 lost");
                    }
                })
                .fit(network, data);
        }
        finally
        {
            SPARK.sc().sc().removeSparkListener(tasks);
        }
        assertTrue(killed.get());
        assertEquals(List.of((long)EVERY), recorder.rewinds, "the retry resumed from the checkpoint at step 50");
        assertEquals(EPOCHS * STEPS, recorder.steps.size());
        assertEquals(List.of(0, 1), List.copyOf(recorder.epochMeans.keySet()));
        for (int epoch = 0; epoch < EPOCHS; epoch++)
        {
            double sum = 0;
            for (long global = (long)epoch * STEPS; global < (long)(epoch + 1) * STEPS; global++)
            {
                sum += recorder.steps.get(global).loss();
            }
            assertEquals(sum / STEPS, recorder.epochMeans.get(epoch), "epoch " + epoch + "'s mean covers all steps");
        }
        assertEquals(EPOCHS * STEPS - 1, recorder.last.globalStep());
        assertEquals(recorder.last.loss(), summary.finalLoss(), "the summary's final loss is the last step's");
        MetricsFileCheck.assertEachStepOnceAndEpochMeansCoverAllSteps(metricsPath, EPOCHS, STEPS);
        // the resume is exact: the model is the uninterrupted fit's, bit for bit
        assertArrayEquals(reference.params().toFloatVector(), network.params().toFloatVector());
    }

    private static TrainerConfig config(final CheckpointConfig checkpoint)
    {
        return TrainerConfig.builder().workers(WORKERS).batchSizePerWorker(BATCH).epochs(EPOCHS)
            .collectiveTimeoutMs(30_000).checkpoint(checkpoint).build();
    }
}
