package io.paratrain.sparktrainer;

import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.Nesterovs;

import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The key property: N replicas x batch b for k steps end with the same parameters as single-process
 * {@code MultiLayerNetwork.fit} with batch N x b on the same data, order and initial parameters.
 */
@Timeout(300)
class EquivalenceTest
{
    private static final int BATCH_PER_WORKER = 8;
    private static JavaSparkContext sc;

    @BeforeAll
    static void startSpark()
    {
        sc = LocalSpark.start(3);
    }

    @AfterAll
    static void stopSpark()
    {
        sc.stop();
    }

    static Stream<Arguments> cases()
    {
        return Stream.of(
            Arguments.of(2, "adam", 25, 3),        // 25 full steps and a last step of 3 examples
            Arguments.of(2, "nesterovs", 25, 0),
            Arguments.of(3, "adam", 22, 2),        // last step of 2 < 3 examples: one replica sits it out
            Arguments.of(3, "nesterovs", 22, 5));
    }

    static IUpdater updater(final String name)
    {
        return "adam".equals(name) ? new Adam(0.01) : new Nesterovs(0.05, 0.9);
    }

    @ParameterizedTest(name = "workers={0} updater={1} fullSteps={2} extraExamples={3}")
    @MethodSource("cases")
    void replicasMatchSingleProcessTrainingWithTheCombinedBatch(final int workers, final String updaterName,
        final int fullSteps, final int extraExamples)
    {
        final int globalBatch = workers * BATCH_PER_WORKER;
        final List<DataSet> examples = Networks.examples(fullSteps * globalBatch + extraExamples, 7);
        final MultiLayerNetwork reference = Networks.mlp(updater(updaterName), 123);
        final MultiLayerNetwork distributed = reference.clone();
        final INDArray initial = reference.params().dup();

        for (final DataSet batch : Networks.minibatches(examples, globalBatch))
        {
            reference.fit(batch);
        }
        final TrainingSummary summary = new DataParallelTrainer(sc, TrainerConfig.builder()
            .workers(workers)
            .batchSizePerWorker(BATCH_PER_WORKER)
            .checksumEverySteps(5)
            .build())
            .fit(distributed, sc.parallelize(Networks.minibatches(examples, 7), 3));

        final int expectedSteps = fullSteps + (extraExamples > 0 ? 1 : 0);
        assertEquals(examples.size(), summary.examplesPerEpoch());
        assertEquals(expectedSteps, summary.stepsPerEpoch());
        assertEquals(expectedSteps, distributed.getIterationCount());
        final double change = reference.params().sub(initial).norm2Number().doubleValue();
        final double difference = distributed.params().sub(reference.params()).norm2Number().doubleValue();
        final double relative = difference / reference.params().norm2Number().doubleValue();
        assertTrue(change > 1e-2, "training must have moved the parameters (moved " + change + ")");
        assertTrue(relative <= 1e-5, "relative difference " + relative + " > 1e-5 (absolute " + difference + ")");
        assertTrue(difference < change * 1e-3, "difference " + difference + " must be tiny next to change " + change);
    }
}
