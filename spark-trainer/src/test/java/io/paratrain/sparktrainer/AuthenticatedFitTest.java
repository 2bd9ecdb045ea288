package io.paratrain.sparktrainer;

import io.paratrain.modelsplit.SplitConfig;
import io.paratrain.sparktrainer.internal.channel.ChannelKey;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkEnv;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.Timeout;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.Adam;

import java.util.HexFormat;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * With {@code spark.authenticate=true} the gradient channel is HMAC-checked with a key each task derives from
 * Spark's secret; the HMAC changes what travels, never what is computed: both trainers end bit for bit as without
 * authentication. Local mode: Spark generates the application's secret and keeps it in the user's credentials.
 */
@ExtendWith(NothingLeftBehind.class)
@Timeout(300)
class AuthenticatedFitTest
{
    private static final int BATCH_PER_WORKER = 8;
    private static final List<DataSet> EXAMPLES = Networks.examples(20 * 2 * BATCH_PER_WORKER + 3, 5);

    private static Run plain;
    private static Run authenticated;

    /** What one Spark application (with or without authentication) trained and saw. */
    private record Run(float[] dataParallel, TrainingSummary dataParallelSummary, float[] modelSplit,
        TrainingSummary modelSplitSummary, String executorKey, String driverKey, String refusal)
    {
    }

    @BeforeAll
    static void trainWithAndWithoutAuthentication()
    {
        plain = run(false);
        authenticated = run(true);
    }

    @Test
    void dataParallelTrainingIsBitIdenticalWithAuthentication()
    {
        assertArrayEquals(plain.dataParallel(), authenticated.dataParallel());
        assertEquals(new ChannelReport(false, 0, 0), plain.dataParallelSummary().channel());
        assertEquals(new ChannelReport(true, 0, 0), authenticated.dataParallelSummary().channel());
        assertEquals(21, authenticated.dataParallelSummary().stepsPerEpoch());
    }

    @Test
    void modelSplitTrainingIsBitIdenticalWithAuthentication()
    {
        assertArrayEquals(plain.modelSplit(), authenticated.modelSplit());
        assertEquals(new ChannelReport(false, 0, 0), plain.modelSplitSummary().channel());
        assertEquals(new ChannelReport(true, 0, 0), authenticated.modelSplitSummary().channel());
    }

    @Test
    void tasksDeriveTheDriversKeyFromSparksSecret()
    {
        assertNotNull(authenticated.executorKey());
        assertEquals(64, authenticated.executorKey().length(), "32 bytes of HMAC-SHA256");
        assertEquals(authenticated.driverKey(), authenticated.executorKey());
        assertEquals("none", plain.executorKey());
    }

    @Test
    void anExecutorWithoutSparkAuthenticationRefusesAnAuthenticatedFit()
    {
        assertTrue(plain.refusal().contains("ChannelSecretException: the driver runs with spark.authenticate=true " +
            "but executor driver has Spark authentication off"), plain.refusal());
    }

    private static Run run(final boolean authenticate)
    {
        final SparkConf conf = new SparkConf()
            .setMaster("local[2]")
            .setAppName("paratrain-auth-test")
            .set("spark.ui.enabled", "false")
            .set("spark.driver.host", "127.0.0.1")
            .set("spark.driver.bindAddress", "127.0.0.1");
        if (authenticate)
        {
            conf.set("spark.authenticate", "true").set("spark.authenticate.secret", "a-test-secret-for-the-app");
        }
        final JavaSparkContext sc = new JavaSparkContext(conf);
        try
        {
            final MultiLayerNetwork dataParallel = Networks.mlp(new Adam(0.01), 123);
            final TrainingSummary dataParallelSummary = new DataParallelTrainer(sc, TrainerConfig.builder().epochs(1)
                .workers(2).batchSizePerWorker(BATCH_PER_WORKER).checksumEverySteps(5).build())
                .fit(dataParallel, sc.parallelize(Networks.minibatches(EXAMPLES, 7), 3));
            final MultiLayerNetwork modelSplit = Networks.mlp(new Adam(0.01), 321);
            final TrainingSummary modelSplitSummary = new ModelSplitTrainer(sc,
                ModelSplitConfig.builder(SplitConfig.of(2, 0, 1)).epochs(1).batchSize(16).collectiveTimeoutMs(30_000)
                .build()).fit(modelSplit, sc.parallelize(Networks.minibatches(EXAMPLES, 7), 3));

            // A key object as a fit makes it: derived in a task and on the driver (one JVM, one secret here).
            final ChannelKey key = ChannelKey.forFit(sc.getConf(), sc.sc().applicationId(), "key check");
            final String executorKey = sc.parallelize(List.of(1), 1).map(x -> hex(key.derive(77))).collect().get(0);
            final String driverKey = hex(key.derive(77));
            String refusal = null;
            if (!authenticate)
            {
                // the driver believes in authentication, the executors have none: a clear error from the task
                final ChannelKey claimed = ChannelKey.forFit(new SparkConf(false).set("spark.authenticate", "true"),
                    sc.sc().applicationId(), "refused fit");
                final Exception ex = assertThrows(Exception.class,
                    () -> sc.parallelize(List.of(1), 1).map(x -> claimed.derive(77).length).collect());
                refusal = ex.getMessage();
            }
            else
            {
                assertFalse(SparkEnv.get().securityManager().getSecretKey().isEmpty());
            }
            return new Run(dataParallel.params().toFloatVector(), dataParallelSummary,
                modelSplit.params().toFloatVector(), modelSplitSummary, executorKey, driverKey, refusal);
        }
        finally
        {
            sc.stop();
        }
    }

    private static String hex(final byte[] key)
    {
        return key == null ? "none" : HexFormat.of().formatHex(key);
    }
}
