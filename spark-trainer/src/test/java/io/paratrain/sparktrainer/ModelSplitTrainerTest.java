package io.paratrain.sparktrainer;

import io.paratrain.modelsplit.SplitConfig;
import io.paratrain.sparktrainer.exceptions.TrainerConfigException;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.Adam;

import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Model split on Spark (one barrier task per shard, local[3]) equals single-process {@code MultiLayerNetwork.fit}
 * on the same minibatches, order and initial parameters: the 12-16-10-4 MLP of {@link Networks}, Adam.
 */
@Timeout(300)
class ModelSplitTrainerTest
{
    private static final int BATCH = 8;
    @RegisterExtension
    static final LocalSpark SPARK = new LocalSpark(3);

    static Stream<Arguments> cases()
    {
        return Stream.of(
            Arguments.of(SplitConfig.of(2, 0, 1, 2), 1),   // 22 full steps and a last one of 3 examples
            Arguments.of(SplitConfig.of(3, 0, 1), 1),      // uneven columns: 16 = 6+5+5, 10 = 4+3+3
            Arguments.of(SplitConfig.of(3, 1, 2), 2),      // two epochs: 46 steps
            Arguments.of(SplitConfig.of(3, 0, 1, 2).withPairing(), 1));  // 0 by columns, 1 by rows, 2 by columns
    }

    @ParameterizedTest(name = "{0} epochs={1}")
    @MethodSource("cases")
    void splitTrainingMatchesSingleProcessFit(final SplitConfig split, final int epochs)
    {
        final List<DataSet> examples = Networks.examples(22 * BATCH + 3, 11);
        final MultiLayerNetwork reference = Networks.mlp(new Adam(0.01), 123);
        final MultiLayerNetwork distributed = reference.clone();
        final INDArray initial = reference.params().dup();
        final List<DataSet> minibatches = Networks.minibatches(examples, BATCH);
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            minibatches.forEach(reference::fit);
            reference.incrementEpochCount();
        }

        final TrainingSummary summary = new ModelSplitTrainer(SPARK.sc(), ModelSplitConfig.builder(split)
            .epochs(epochs).batchSize(BATCH).collectiveTimeoutMs(30_000).build())
            .fit(distributed, SPARK.sc().parallelize(Networks.minibatches(examples, 7), 3));

        assertEquals(examples.size(), summary.examplesPerEpoch());
        assertEquals(23, summary.stepsPerEpoch());
        assertEquals(23 * epochs, distributed.getIterationCount());
        assertEquals(epochs, distributed.getEpochCount());
        final double change = reference.params().sub(initial).norm2Number().doubleValue();
        final double relative = distributed.params().sub(reference.params()).norm2Number().doubleValue() /
            reference.params().norm2Number().doubleValue();
        System.out.printf("model split %s epochs=%d: relative difference %.3e%n", split, epochs, relative);
        assertTrue(change > 1e-2, "training must have moved the parameters (moved " + change + ")");
        assertTrue(relative <= 1e-5, "relative difference " + relative + " > 1e-5");
        assertTrue(Double.isFinite(summary.finalLoss()), "final loss " + summary.finalLoss());
    }

    @Test
    void aLayerThatCannotBeSplitIsRefusedBeforeTheStage()
    {
        final MultiLayerNetwork network = Networks.mlp(new Adam(0.01), 1);
        final TrainerConfigException error = assertThrows(TrainerConfigException.class,
            () -> new ModelSplitTrainer(SPARK.sc(), ModelSplitConfig.builder(SplitConfig.of(2, 7))
                .epochs(1).batchSize(BATCH).collectiveTimeoutMs(30_000).build())
                .fit(network, SPARK.sc().parallelize(Networks.minibatches(Networks.examples(10, 1), 5))));
        assertTrue(error.getMessage().contains("split layer index 7 is out of range"), error.getMessage());
    }
}
