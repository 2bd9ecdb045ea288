package io.paratrain.sparktrainer;

import io.paratrain.sparktrainer.exceptions.CheckpointException;
import io.paratrain.sparktrainer.exceptions.TrainerConfigException;
import io.paratrain.sparktrainer.internal.checkpoint.Checkpoint;
import io.paratrain.sparktrainer.internal.checkpoint.CheckpointStore;
import io.paratrain.sparktrainer.internal.data.ExamplePlan;
import io.paratrain.sparktrainer.internal.snapshot.ModelSnapshot;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerStageSubmitted;
import org.apache.spark.scheduler.SparkListenerTaskStart;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A fit interrupted (a barrier task killed mid-training, or a fit stopped after one epoch) and resumed from its
 * checkpoints ends with exactly the parameters and updater state of an uninterrupted fit.
 */
@Timeout(300)
class CheckpointResumeTest
{
    private static final int WORKERS = 2;
    private static final int BATCH = 8;
    private static final int EXAMPLES = 240; // 15 steps of 16 per epoch
    private static final int EVERY = 4;
    @RegisterExtension
    static final LocalSpark SPARK = new LocalSpark(WORKERS);
    private static JavaRDD<DataSet> data;
    private static MultiLayerNetwork uninterrupted;

    @TempDir
    Path dir;

    @BeforeAll
    static void trainUninterrupted()
    {
        data = SPARK.sc().parallelize(Networks.minibatches(Networks.examples(EXAMPLES, 11), 5), 3).cache();
        uninterrupted = network();
        new DataParallelTrainer(SPARK.sc(), config(2, null)).fit(uninterrupted, data);
    }

    /** Dropout draws from ND4J's random generator: resuming must restore each rank's random state too. */
    private static MultiLayerNetwork network()
    {
        final MultiLayerNetwork network = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(5)
            .dataType(DataType.FLOAT).updater(new Adam(0.01)).weightInit(WeightInit.XAVIER).list()
            .layer(new DenseLayer.Builder().nIn(Networks.FEATURES).nOut(16).activation(Activation.TANH)
                .dropOut(0.8).build())
            .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(16).nOut(Networks.CLASSES)
                .activation(Activation.SOFTMAX).build())
            .build());
        network.init();
        return network;
    }

    private static TrainerConfig config(final int epochs, final CheckpointConfig checkpoint)
    {
        return TrainerConfig.builder().workers(WORKERS).batchSizePerWorker(BATCH).epochs(epochs)
            .collectiveTimeoutMs(10_000).checksumEverySteps(5).checkpoint(checkpoint).build();
    }

    private static void assertSameState(final MultiLayerNetwork expected, final MultiLayerNetwork actual)
    {
        assertArrayEquals(expected.params().toFloatVector(), actual.params().toFloatVector(), "parameters");
        assertArrayEquals(expected.getUpdater().getStateViewArray().toFloatVector(),
            actual.getUpdater().getStateViewArray().toFloatVector(), "updater state");
        assertEquals(expected.getIterationCount(), actual.getIterationCount());
        assertEquals(expected.getEpochCount(), actual.getEpochCount());
    }

    @Test
    void aRetriedStageResumesFromTheNewestCheckpointAndEndsExactlyAsAnUninterruptedFit() throws Exception
    {
        final List<Long> barrierTasks = new CopyOnWriteArrayList<>();
        final List<int[]> attempts = new CopyOnWriteArrayList<>(); // (stage id, attempt) of barrier stages
        final SparkListener tasks = new SparkListener()
        {
            @Override
            public void onStageSubmitted(final SparkListenerStageSubmitted submitted)
            {
                if (submitted.stageInfo().name().contains("barrier") || submitted.stageInfo().rddInfos()
                    .exists(info -> info.isBarrier()))
                {
                    attempts.add(new int[] {submitted.stageInfo().stageId(), submitted.stageInfo().attemptNumber()});
                }
            }

            @Override
            public void onTaskStart(final SparkListenerTaskStart start)
            {
                barrierTasks.add(start.taskInfo().taskId());
            }
        };
        SPARK.sc().sc().addSparkListener(tasks);
        final List<Long> steps = Collections.synchronizedList(new ArrayList<>());
        final AtomicBoolean killed = new AtomicBoolean();
        // long enough (120 steps) that the kill, sent when step 9 is reported, lands mid-training
        final int epochs = 8;
        final MultiLayerNetwork reference = network();
        new DataParallelTrainer(SPARK.sc(), config(epochs, null)).fit(reference, data);
        final MultiLayerNetwork network = network();
        try
        {
            new DataParallelTrainer(SPARK.sc(), config(epochs, new CheckpointConfig(dir.toString(), EVERY, 2, false)))
                .addListener(metrics ->
                {
                    steps.add(metrics.globalStep());
                    if (metrics.globalStep() == 9 && killed.compareAndSet(false, true))
                    {
                        // the newest task is one of the running barrier tasks
                        SPARK.sc().sc().killTaskAttempt(barrierTasks.get(barrierTasks.size() - 1), false,
                            "test: interrupted after step 9");
                    }
                })
                .fit(network, data);
        }
        finally
        {
            SPARK.sc().sc().removeSparkListener(tasks);
        }
        assertTrue(killed.get());
        final int lastStage = attempts.stream().mapToInt(a -> a[0]).max().orElseThrow();
        assertEquals(List.of(0, 1), attempts.stream().filter(a -> a[0] == lastStage).map(a -> a[1]).toList(),
            "the barrier stage ran twice");
        // after the kill the steps start again at a checkpoint (every 4 steps, and every 15 at epoch ends), not at 0.
        // The kill is sent when the driver hears of step 9, a few steps late: when it lands just after a checkpoint
        // the retry repeats no step, so the sequence has no restart; it must never go back to step 0.
        assertEquals(1, steps.stream().filter(step -> step == 0L).count(), "training started again at 0: " + steps);
        final int restart = indexOfRestart(steps);
        if (restart >= 0)
        {
            final long resumedAt = steps.get(restart);
            assertTrue(resumedAt >= 8 && (resumedAt % EVERY == 0 || resumedAt % 15 == 0) && resumedAt < 120,
                "resumed at " + resumedAt + ": " + steps);
        }
        assertEquals(119L, steps.get(steps.size() - 1));
        assertSameState(reference, network);
        // the last 2 are kept: after epoch 8 (120 steps) and the one at 116 steps
        assertEquals(List.of(120L, 116L), new CheckpointStore(dir.toString(), 2, new Configuration()).steps());
    }

    /** Index of the first step reported again after the retry, or -1 when the retry repeated none. */
    private static int indexOfRestart(final List<Long> steps)
    {
        for (int i = 1; i < steps.size(); i++)
        {
            if (steps.get(i) <= steps.get(i - 1))
            {
                return i;
            }
        }
        return -1;
    }

    @Test
    void resumeContinuesAFinishedEpochAndSkipsACorruptCheckpoint() throws Exception
    {
        final MultiLayerNetwork first = network();
        new DataParallelTrainer(SPARK.sc(), config(1, new CheckpointConfig(dir.toString(), EVERY, 3, false)))
            .fit(first, data);
        final CheckpointStore store = new CheckpointStore(dir.toString(), 3, new Configuration());
        assertEquals(List.of(15L, 12L, 8L), store.steps());
        // the newest (end of epoch 1) is cut short: resume must fall back to the one after 12 steps
        final Path newest = dir.resolve(CheckpointStore.fileName(15));
        final byte[] whole = Files.readAllBytes(newest);
        Files.write(newest, java.util.Arrays.copyOf(whole, whole.length / 2));
        assertThrows(CheckpointException.class, () -> store.read(15));
        assertEquals(12L, store.newestValid().orElseThrow().globalStep());

        // a fresh network (other weights) resumed for 2 epochs in all: the checkpoint's state replaces its own
        final MultiLayerNetwork resumed = network();
        resumed.params().addi(1);
        new DataParallelTrainer(SPARK.sc(), config(2, new CheckpointConfig(dir.toString(), EVERY, 3, true)))
            .fit(resumed, data);
        assertSameState(uninterrupted, resumed);
    }

    @Test
    void resumingWithAnotherPlanIsRefused() throws Exception
    {
        new DataParallelTrainer(SPARK.sc(), config(1, new CheckpointConfig(dir.toString(), 0, 1, false)))
            .fit(network(), data);
        final TrainerConfig otherBatch = TrainerConfig.builder().workers(WORKERS).batchSizePerWorker(BATCH + 1)
            .epochs(2).collectiveTimeoutMs(10_000).checkpoint(new CheckpointConfig(dir.toString(), 0, 1, true))
            .build();
        final TrainerConfigException error = assertThrows(TrainerConfigException.class,
            () -> new DataParallelTrainer(SPARK.sc(), otherBatch).fit(network(), data));
        assertTrue(String.valueOf(error.getMessage()).contains("was written for ExamplePlan[totalExamples=240, " +
            "workers=2, batchSizePerWorker=8]"), error.getMessage());
    }

    @Test
    void checkpointBytesRoundTripAndAnyDamageIsDetected()
    {
        final MultiLayerNetwork network = network();
        final Checkpoint checkpoint = new Checkpoint(1, 3, 18, new ExamplePlan(240, 2, 8),
            ModelSnapshot.of(network), new long[] {1, 2, 3, 4});
        final byte[] bytes = checkpoint.encode();
        final Checkpoint copy = Checkpoint.decode(bytes, "test");
        assertEquals(checkpoint.plan(), copy.plan());
        assertEquals(18, copy.globalStep());
        assertArrayEquals(checkpoint.model().parameters(), copy.model().parameters());
        assertArrayEquals(new long[] {1, 2, 3, 4}, copy.randomState());
        for (final int at : new int[] {0, 9, bytes.length / 2, bytes.length - 1})
        {
            final byte[] damaged = bytes.clone();
            damaged[at] ^= 0x10;
            assertThrows(CheckpointException.class, () -> Checkpoint.decode(damaged, "damaged at " + at));
        }
        assertThrows(CheckpointException.class,
            () -> Checkpoint.decode(java.util.Arrays.copyOf(bytes, bytes.length - 3), "truncated"));
    }
}
