package io.paratrain.sparktrainer;

import io.paratrain.sparktrainer.internal.snapshot.NetworkModel;
import io.paratrain.sparktrainer.internal.dataparallel.ShardedUpdate;
import org.deeplearning4j.nn.conf.GradientNormalization;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.Nesterovs;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The key property: N replicas x batch b for k steps end with the same parameters as single-process
 * {@code MultiLayerNetwork.fit} with batch N x b on the same data, order and initial parameters.
 */
@Timeout(300)
class EquivalenceTest
{
    private static final int BATCH_PER_WORKER = 8;
    @RegisterExtension
    static final LocalSpark SPARK = new LocalSpark(3);

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
        final TrainingSummary summary = new DataParallelTrainer(SPARK.sc(), TrainerConfig.builder().epochs(1)
            .workers(workers)
            .batchSizePerWorker(BATCH_PER_WORKER)
            .checksumEverySteps(5)
            .build())
            .fit(distributed, SPARK.sc().parallelize(Networks.minibatches(examples, 7), 3));

        final int expectedSteps = fullSteps + (extraExamples > 0 ? 1 : 0);
        assertEquals(examples.size(), summary.examplesPerEpoch());
        assertEquals(expectedSteps, summary.stepsPerEpoch());
        assertEquals(expectedSteps, distributed.getIterationCount());
        final double change = reference.params().sub(initial).norm2Number().doubleValue();
        final double difference = distributed.params().sub(reference.params()).norm2Number().doubleValue();
        final double relative = difference / reference.params().norm2Number().doubleValue();
        System.out.printf("data parallel workers=%d %s, %d steps: relative difference %.3e%n", workers, updaterName,
            expectedSteps, relative);
        assertTrue(change > 1e-2, "training must have moved the parameters (moved " + change + ")");
        assertTrue(relative <= 1e-5, "relative difference " + relative + " > 1e-5 (absolute " + difference + ")");
        assertTrue(difference < change * 1e-3, "difference " + difference + " must be tiny next to change " + change);
    }

    /**
     * A network that has not trained yet ships no updater state (its replicas create the initial state themselves);
     * one that has trained ships its state. Two fits in a row must therefore continue exactly where the first left
     * off: Adam's moments and its bias correction (the iteration count) carry over.
     */
    @Test
    void aSecondFitContinuesFromTheUpdaterStateTheFirstLeft()
    {
        final int workers = 2;
        final int globalBatch = workers * BATCH_PER_WORKER;
        final List<DataSet> first = Networks.examples(10 * globalBatch, 11);
        final List<DataSet> second = Networks.examples(10 * globalBatch, 12);
        final MultiLayerNetwork reference = Networks.mlp(new Adam(0.01), 321);
        final MultiLayerNetwork distributed = Networks.mlp(new Adam(0.01), 321); // clone() would make an updater
        RawBits.assertSameBits(reference.params(), distributed.params(), "the same initial parameters");
        assertNull(distributed.getUpdater(false), "a network that has not trained yet has no updater");
        for (final List<DataSet> part : List.of(first, second))
        {
            for (final DataSet batch : Networks.minibatches(part, globalBatch))
            {
                reference.fit(batch);
            }
        }
        final DataParallelTrainer trainer = new DataParallelTrainer(SPARK.sc(), TrainerConfig.builder().epochs(1)
            .workers(workers).batchSizePerWorker(BATCH_PER_WORKER).build());
        trainer.fit(distributed, SPARK.sc().parallelize(Networks.minibatches(first, 5), workers));
        assertEquals(10, distributed.getIterationCount());
        trainer.fit(distributed, SPARK.sc().parallelize(Networks.minibatches(second, 5), workers));
        assertEquals(20, distributed.getIterationCount());
        assertRelativelyClose(reference.params(), distributed.params(), "parameters");
        assertRelativelyClose(reference.getUpdater().getStateViewArray(),
            distributed.getUpdater().getStateViewArray(), "updater state");
    }

    /**
     * Two updaters in one network (Adam with L2 on the hidden layers, Nesterovs with weight decay on the output),
     * so that a replica's segment cuts across updater blocks: the sharded optimizer step ends with the same
     * parameters AND updater state as DL4J's single-process update, and as the unsharded path.
     */
    @Test
    void shardedOptimizerStepKeepsParametersAndUpdaterStateEqualToDl4j()
    {
        final int workers = 3;
        final int globalBatch = workers * BATCH_PER_WORKER;
        final List<DataSet> examples = Networks.examples(21 * globalBatch + 4, 11);
        final MultiLayerNetwork reference = mixedUpdaterMlp(null);
        final MultiLayerNetwork sharded = reference.clone();
        final MultiLayerNetwork whole = reference.clone();
        for (final DataSet batch : Networks.minibatches(examples, globalBatch))
        {
            reference.fit(batch);
        }
        for (final boolean shard : new boolean[] {true, false})
        {
            new DataParallelTrainer(SPARK.sc(), TrainerConfig.builder().epochs(1).workers(workers)
                .batchSizePerWorker(BATCH_PER_WORKER).shardedUpdate(shard).build())
                .fit(shard ? sharded : whole, SPARK.sc().parallelize(Networks.minibatches(examples, 5), 2));
        }
        for (final MultiLayerNetwork trained : List.of(sharded, whole))
        {
            final String which = trained == sharded ? "sharded" : "whole";
            assertRelativelyClose(reference.params(), trained.params(), which + " parameters");
            assertRelativelyClose(reference.getUpdater().getStateViewArray(),
                trained.getUpdater().getStateViewArray(), which + " updater state");
        }
        assertTrue(ShardedUpdate.supportFor(NetworkModel.of(sharded)).isEmpty(), "this network must take the sharded path");
    }

    /** Gradient normalization needs whole-layer norms: the fit falls back to the whole update and stays exact. */
    @Test
    void networkThatCannotBeShardedFallsBackToTheWholeUpdate()
    {
        final int workers = 2;
        final List<DataSet> examples = Networks.examples(15 * workers * BATCH_PER_WORKER, 13);
        final MultiLayerNetwork reference = mixedUpdaterMlp(GradientNormalization.RenormalizeL2PerLayer);
        final MultiLayerNetwork distributed = reference.clone();
        assertFalse(ShardedUpdate.supportFor(NetworkModel.of(reference)).isEmpty());
        for (final DataSet batch : Networks.minibatches(examples, workers * BATCH_PER_WORKER))
        {
            reference.fit(batch);
        }
        new DataParallelTrainer(SPARK.sc(), TrainerConfig.builder().epochs(1).workers(workers)
            .batchSizePerWorker(BATCH_PER_WORKER).build())
            .fit(distributed, SPARK.sc().parallelize(Networks.minibatches(examples, 5), 2));
        assertRelativelyClose(reference.params(), distributed.params(), "parameters");
        assertRelativelyClose(reference.getUpdater().getStateViewArray(),
            distributed.getUpdater().getStateViewArray(), "updater state");
    }

    private static MultiLayerNetwork mixedUpdaterMlp(final GradientNormalization normalization)
    {
        final MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder()
            .seed(99)
            .dataType(DataType.FLOAT)
            .updater(new Adam(0.01))
            .l2(1e-3)
            .weightInit(WeightInit.XAVIER)
            .gradientNormalization(normalization == null ? GradientNormalization.None : normalization)
            .list()
            .layer(new DenseLayer.Builder().nIn(Networks.FEATURES).nOut(16).activation(Activation.TANH).build())
            .layer(new DenseLayer.Builder().nIn(16).nOut(10).activation(Activation.RELU).build())
            .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(10).nOut(Networks.CLASSES)
                .activation(Activation.SOFTMAX).updater(new Nesterovs(0.05, 0.9)).l2(0).weightDecay(1e-3)
                .build())
            .build();
        final MultiLayerNetwork network = new MultiLayerNetwork(conf);
        network.init();
        return network;
    }

    private static void assertRelativelyClose(final INDArray expected, final INDArray actual, final String what)
    {
        final double difference = actual.sub(expected).norm2Number().doubleValue();
        final double relative = difference / expected.norm2Number().doubleValue();
        assertTrue(expected.norm2Number().doubleValue() > 0, what + " must not be all zeros");
        assertTrue(relative <= 1e-5, what + ": relative difference " + relative + " > 1e-5");
    }

    /**
     * Data with one partition per replica is exchanged over the ring (no shuffle stage); any other partitioning is
     * routed through a Spark shuffle. Both must give every replica the same examples for the same steps: the
     * models are bitwise equal. The partitions are uneven and one is empty; minibatch sizes vary.
     */
    @Test
    void examplesExchangedOverTheRingTrainExactlyAsShuffledOnes()
    {
        final int workers = 3;
        final List<DataSet> examples = Networks.examples(307, 17);
        final List<DataSet> batches = new java.util.ArrayList<>();
        int start = 0;
        for (final int size : new int[] {7, 30, 1, 12, 50, 90, 3, 114})
        {
            batches.add(DataSet.merge(examples.subList(start, start + size)));
            start += size;
        }
        final MultiLayerNetwork initial = Networks.mlp(new Adam(0.01), 5);
        final MultiLayerNetwork exchanged = initial.clone();
        final MultiLayerNetwork shuffled = initial.clone();
        final TrainerConfig config = TrainerConfig.builder().workers(workers).batchSizePerWorker(BATCH_PER_WORKER)
            .epochs(2).build();
        // 3 partitions (one per replica): partition 1 emptied by the filter
        final org.apache.spark.api.java.JavaRDD<DataSet> own = SPARK.sc().parallelize(batches, workers)
            .filter(batch -> batch.numExamples() != 12 && batch.numExamples() != 50);
        final List<DataSet> kept = own.collect();
        new DataParallelTrainer(SPARK.sc(), config).fit(exchanged, own);
        new DataParallelTrainer(SPARK.sc(), config).fit(shuffled, SPARK.sc().parallelize(kept, 2));
        assertEquals(workers, own.getNumPartitions());
        // a coalesce inside the stage cannot run as a barrier stage: such data takes the shuffle, same model
        final MultiLayerNetwork coalesced = initial.clone();
        new DataParallelTrainer(SPARK.sc(), config).fit(coalesced, SPARK.sc().parallelize(kept, 6).coalesce(workers));
        RawBits.assertSameModel(shuffled, coalesced, "coalesced data");
        assertTrue(exchanged.params().sub(initial.params()).norm2Number().doubleValue() > 1e-2, "training moved");
        RawBits.assertSameModel(shuffled, exchanged, "exchanged against shuffled data");
    }
}
