package io.paratrain.sparktrainer;

import io.paratrain.gradientsharing.internal.SharedMediaDriver;
import io.paratrain.modelsplit.SplitConfig;
import io.paratrain.sparktrainer.exceptions.ShardLostException;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.Adam;

import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A shard that fails inside the Spark stage (throws, or stops answering) gives the driver a
 * {@link ShardLostException} in bounded time, naming what went wrong, and every task ends and releases its media
 * driver afterwards. A silent shard is caught by the coordinator's collective timeout, so the bound is
 * timeout + Spark's reaction, not Spark's executor-loss detection (120 s by default).
 */
@Timeout(180)
class ModelSplitFaultTest
{
    private static final long COLLECTIVE_TIMEOUT_MS = 3_000;
    private static final int BATCH = 8;
    @RegisterExtension
    static final LocalSpark SPARK = new LocalSpark(3);

    @AfterEach
    void everyTaskEndsAndReleasesItsMediaDriver() throws InterruptedException
    {
        // The other shards' tasks are killed by Spark or fail on their own collective timeout; both close the ring.
        final long deadlineNs = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(COLLECTIVE_TIMEOUT_MS + 20_000);
        while (SharedMediaDriver.openCount() > 0 && System.nanoTime() < deadlineNs)
        {
            Thread.sleep(50);
        }
        assertTrue(SharedMediaDriver.openCount() == 0, "media drivers still open: " + SharedMediaDriver.openCount());
    }

    @ParameterizedTest(name = "hang={0}")
    @ValueSource(booleans = {false, true})
    void aFailedShardGivesTheDriverATypedErrorInBoundedTime(final boolean hang)
    {
        final List<DataSet> examples = Networks.examples(22 * BATCH, 11);
        final MultiLayerNetwork network = Networks.mlp(new Adam(0.01), 123);
        final ModelSplitConfig config = ModelSplitConfig.builder(SplitConfig.of(3, 0, 1, 2)).epochs(1).batchSize(BATCH)
            .collectiveTimeoutMs(COLLECTIVE_TIMEOUT_MS).build();
        final ModelSplitTrainer trainer = new ModelSplitTrainer(SPARK.sc(), config,
            new FaultyShardLayout(config, 2, 5, hang));

        final long startNs = System.nanoTime();
        final ShardLostException error = assertThrows(ShardLostException.class,
            () -> trainer.fit(network, SPARK.sc().parallelize(Networks.minibatches(examples, 7), 3)));
        final long waitedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs);
        System.out.printf("hang=%s: driver got %s after %d ms%n", hang, error.getMessage(), waitedMs);

        final String message = error.getMessage();
        if (hang)
        {
            // the rank waiting for shard 2 in step 5 gave up after the collective timeout and named it
            assertTrue(message.contains("ShardFailedException") && message.contains(" step 5, layer"), message);
            assertTrue(message.contains("no progress from rank 2"), message);
            assertTrue(waitedMs >= COLLECTIVE_TIMEOUT_MS, "the driver heard after " + waitedMs + " ms");
        }
        else
        {
            assertTrue(message.contains("shard 2: injected fault after 5 steps"), message);
        }
        assertTrue(waitedMs < COLLECTIVE_TIMEOUT_MS + 30_000, "the driver waited " + waitedMs + " ms");
    }
}
