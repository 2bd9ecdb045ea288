package io.paratrain.sparktrainer;

import io.paratrain.modelsplit.SplitConfig;
import io.paratrain.sparktrainer.internal.checkpoint.CheckpointStore;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskStart;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.Adam;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.LongStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Model split through the one fit pipeline: progress for every step, checkpoints (a gather of every shard's slices,
 * written by rank 0), and resume. A shard's task killed mid-fit makes Spark retry the stage, which resumes from the
 * newest checkpoint and ends with exactly (raw bits) the parameters, updater state and counters of an uninterrupted
 * fit; so does a finished fit resumed for more epochs.
 */
@Timeout(300)
class ModelSplitCheckpointTest
{
    private static final int SHARDS = 2;
    private static final int BATCH = 16;
    private static final int EXAMPLES = 240; // 15 steps of 16 per epoch
    private static final int EVERY = 4;
    private static final SplitConfig SPLIT = SplitConfig.of(SHARDS, 0, 1);
    @RegisterExtension
    static final LocalSpark SPARK = new LocalSpark(SHARDS);
    private static JavaRDD<DataSet> data;

    @TempDir
    Path dir;

    @BeforeAll
    static void cacheData()
    {
        data = SPARK.sc().parallelize(Networks.minibatches(Networks.examples(EXAMPLES, 11), 5), 3).cache();
    }

    private static ModelSplitConfig config(final int epochs, final CheckpointConfig checkpoint)
    {
        return ModelSplitConfig.builder(SPLIT).epochs(epochs).batchSize(BATCH).collectiveTimeoutMs(10_000)
            .checkpoint(checkpoint).build();
    }

    private static MultiLayerNetwork uninterrupted(final int epochs)
    {
        final MultiLayerNetwork network = Networks.mlp(new Adam(0.01), 123);
        new ModelSplitTrainer(SPARK.sc(), config(epochs, null)).fit(network, data);
        return network;
    }

    @Test
    void aKilledShardIsRetriedFromTheNewestCheckpointAndEndsExactlyAsAnUninterruptedFit()
    {
        final int epochs = 6; // 90 steps: the kill, sent when step 9 is reported, lands mid-training
        final MultiLayerNetwork reference = uninterrupted(epochs);
        final List<Long> taskIds = new CopyOnWriteArrayList<>();
        final SparkListener tasks = new SparkListener()
        {
            @Override
            public void onTaskStart(final SparkListenerTaskStart start)
            {
                taskIds.add(start.taskInfo().taskId());
            }
        };
        final List<Long> steps = Collections.synchronizedList(new ArrayList<>());
        final AtomicBoolean killed = new AtomicBoolean();
        final MultiLayerNetwork network = Networks.mlp(new Adam(0.01), 123);
        SPARK.sc().sc().addSparkListener(tasks);
        try
        {
            new ModelSplitTrainer(SPARK.sc(), config(epochs, new CheckpointConfig(dir.toString(), EVERY, 2, false)))
                .addListener(metrics ->
                {
                    steps.add(metrics.globalStep());
                    if (metrics.globalStep() == 9 && killed.compareAndSet(false, true))
                    {
                        // the newest task started is one of the two running barrier tasks (a shard or rank 0)
                        SPARK.sc().sc().killTaskAttempt(taskIds.get(taskIds.size() - 1), false,
                            "test: interrupted after step 9");
                    }
                })
                .fit(network, data);
        }
        finally
        {
            SPARK.sc().sc().removeSparkListener(tasks);
        }
        assertTrue(killed.get(), "the kill was sent");
        assertEquals(1, steps.stream().filter(step -> step == 0L).count(), "training started again at 0: " + steps);
        assertTrue(steps.stream().distinct().count() == 90 && steps.get(steps.size() - 1) == 89L,
            "every step reported: " + steps);
        RawBits.assertSameModel(reference, network, "killed and resumed vs uninterrupted");
        assertEquals(List.of(90L, 88L), new CheckpointStore(dir.toString(), 2, new Configuration()).steps());
    }

    @Test
    void aFinishedFitResumedForMoreEpochsEqualsOneLongerFit()
    {
        final MultiLayerNetwork reference = uninterrupted(2);
        final MultiLayerNetwork network = Networks.mlp(new Adam(0.01), 123);
        new ModelSplitTrainer(SPARK.sc(), config(1, new CheckpointConfig(dir.toString(), EVERY, 3, false)))
            .fit(network, data);
        assertEquals(List.of(15L, 12L, 8L), new CheckpointStore(dir.toString(), 3, new Configuration()).steps());

        // another network (other weights): the checkpoint's state replaces its own
        final MultiLayerNetwork resumed = Networks.mlp(new Adam(0.01), 999);
        final List<Long> steps = Collections.synchronizedList(new ArrayList<>());
        new ModelSplitTrainer(SPARK.sc(), config(2, new CheckpointConfig(dir.toString(), EVERY, 3, true)))
            .addListener(metrics -> steps.add(metrics.globalStep()))
            .fit(resumed, data);
        assertEquals(LongStream.range(15, 30).boxed().toList(), steps, "the second epoch's steps only");
        RawBits.assertSameModel(reference, resumed, "resumed after one epoch vs two uninterrupted epochs");
    }
}
