package io.paratrain.sparktrainer;

import io.paratrain.sparktrainer.exceptions.TrainerException;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.conf.layers.recurrent.LastTimeStep;
import org.deeplearning4j.nn.conf.preprocessor.FeedForwardToRnnPreProcessor;
import org.deeplearning4j.nn.conf.preprocessor.RnnToFeedForwardPreProcessor;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.params.BatchNormalizationParamInitializer;
import org.deeplearning4j.nn.weights.WeightInit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static io.paratrain.sparktrainer.Networks.relativeDifference;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * BatchNormalization on time series (an LSTM's [examples, channels, time] output, between DL4J's time-series
 * preprocessors: DL4J 1.0.0-M2's layer cannot train on rank-3 input itself, one process neither) trained by N
 * replicas x b equals single-process DL4J at batch N x b, for sequences of one length and of different lengths.
 * BatchNormalization right after a recurrent layer is refused with the way around. The replicas' parameters are
 * compared bit for bit after every step.
 */
@Timeout(300)
class TimeSeriesBatchNormalizationTest
{
    private static final double TOLERANCE = 1e-5;
    private static final int BATCH_PER_WORKER = 4;
    private static final int EPOCHS = 2;
    @RegisterExtension
    static final LocalSpark SPARK = new LocalSpark(3);

    /**
     * Sequences all of one length with feature and label masks (each with its own number of valid steps; DL4J's
     * BatchNormalization counts the masked steps too, in the single process and in the replicas alike).
     */
    @ParameterizedTest(name = "workers={0}")
    @ValueSource(ints = {2, 3})
    void maskedSequencesOfOneLengthTrainAsOneProcessWithTheCombinedBatch(final int workers)
    {
        final Random random = new Random(71 + workers);
        final List<DataSet> sources = new ArrayList<>();
        final List<DataSet> examples = new ArrayList<>();
        while (examples.size() < 5 * workers * BATCH_PER_WORKER + 1)
        {
            sources.add(ShapedDataEquivalenceTest.sequences(1 + random.nextInt(5), 6, random, examples));
        }
        assertTrainsAsOneProcess(lstmWithBatchNormalization(), workers, sources, examples, "one length");
    }

    /**
     * Sequences of lengths 4 to 7, some with feature and label masks and some without; the last global step has
     * fewer than N x b examples ({@code lastStep}), of lengths 9 and 2 that occur nowhere else, the length-2 ones
     * unmasked and alone in the last slice that has examples (with 2 examples for 3 workers, rank 2 sits it out).
     * One process merges each step's examples into one minibatch padded to the step's longest sequence (zero steps,
     * zero masks), and DL4J's BatchNormalization counts padded steps in its statistics (it ignores masks), so every
     * replica pads its slice to the longest of the whole step, not of its own slice. Before, such a step was refused;
     * without the refusal and the padding the fit trains silently to a different model (measured: relative
     * difference 0.057 and 0.068 at N = 2 and 3, running mean 0.25 and 0.41).
     */
    @ParameterizedTest(name = "workers={0} lastStep={1}")
    @CsvSource({"2, 4", "3, 6", "3, 2"})
    void sequencesOfDifferentLengthsTrainAsOneProcessWithTheCombinedBatch(final int workers, final int lastStep)
    {
        final Random random = new Random(61 + workers);
        final List<DataSet> sources = new ArrayList<>();
        final List<DataSet> examples = new ArrayList<>();
        final int globalBatch = workers * BATCH_PER_WORKER;
        final int[] lengths = {5, 7, 4, 6};
        for (int group = 0; examples.size() < 5 * globalBatch; group++)
        {
            final int size = Math.min(1 + random.nextInt(5), 5 * globalBatch - examples.size());
            sources.add(maskedOrNot(group % 3 != 2, lengths[group % lengths.length], size, random, examples));
        }
        final int longest = lastStep == 2 ? 1 : lastStep - 2;
        sources.add(maskedOrNot(true, 9, longest, random, examples));
        sources.add(maskedOrNot(false, 2, lastStep - longest, random, examples));
        assertEquals(5 * globalBatch + lastStep, examples.size());
        assertTrainsAsOneProcess(lstmWithBatchNormalization(), workers, sources, examples, "different lengths, " +
            "last step " + lastStep);
    }

    /**
     * BatchNormalization on dense activations (an LSTM's last unmasked step) in a network that takes sequences of
     * different lengths: the replicas pad their slices to the step's longest all the same (the network has
     * synchronized BatchNormalization and time series), and the extra masked steps change nothing: the LSTM's last
     * unmasked step is where it was.
     */
    @ParameterizedTest(name = "workers={0}")
    @ValueSource(ints = {2, 3})
    void batchNormalizationAfterTheLastTimeStepOfSequencesOfDifferentLengthsTrainsAsOneProcess(final int workers)
    {
        final Random random = new Random(67 + workers);
        final List<DataSet> sources = new ArrayList<>();
        final List<DataSet> examples = new ArrayList<>();
        final int globalBatch = workers * BATCH_PER_WORKER;
        final int[] lengths = {5, 7, 4, 6, 9, 2};
        for (int group = 0; examples.size() < 5 * globalBatch + 1; group++)
        {
            final List<DataSet> single = new ArrayList<>();
            sources.add(lastStepLabels(maskedOrNot(group % 3 != 2, lengths[group % lengths.length],
                1 + random.nextInt(5), random, single)));
            single.forEach(example -> examples.add(lastStepLabels(example)));
        }
        assertTrainsAsOneProcess(lastTimeStepWithBatchNormalization(), workers, sources, examples,
            "after the last time step");
    }

    /** {@code reference}'s layer 1 is the BatchNormalization. */
    private static void assertTrainsAsOneProcess(final MultiLayerNetwork reference, final int workers,
        final List<DataSet> sources, final List<DataSet> examples, final String label)
    {
        final MultiLayerNetwork distributed = reference.clone();
        final INDArray initial = reference.params().dup();
        final int globalBatch = workers * BATCH_PER_WORKER;
        for (int epoch = 0; epoch < EPOCHS; epoch++)
        {
            for (final DataSet batch : Networks.minibatches(examples, globalBatch))
            {
                reference.fit(batch);
            }
        }
        trainer(workers).fit(distributed, SPARK.sc().parallelize(sources, workers));

        assertEquals(reference.getIterationCount(), distributed.getIterationCount());
        final double change = reference.params().sub(initial).norm2Number().doubleValue();
        final double relative = relativeDifference(reference.params(), distributed.params());
        final double runningMean = relativeDifference(runningStatistic(reference,
            BatchNormalizationParamInitializer.GLOBAL_MEAN), runningStatistic(distributed,
            BatchNormalizationParamInitializer.GLOBAL_MEAN));
        final double runningStd = relativeDifference(runningStatistic(reference,
            BatchNormalizationParamInitializer.GLOBAL_LOG_STD), runningStatistic(distributed,
            BatchNormalizationParamInitializer.GLOBAL_LOG_STD));
        System.out.printf("time-series batchnorm, %s, workers=%d: relative difference parameters %.3g, running " +
            "mean %.3g, running log10 std %.3g (tolerance %.0e)%n", label, workers, relative, runningMean,
            runningStd, TOLERANCE);
        assertTrue(change > 1e-2, "training must have moved the parameters (moved " + change + ")");
        assertTrue(relative <= TOLERANCE, "parameters: relative difference " + relative + " > " + TOLERANCE);
        assertTrue(runningMean <= TOLERANCE, "running mean: relative difference " + runningMean);
        assertTrue(runningStd <= TOLERANCE, "running log10 std: relative difference " + runningStd);
    }

    /**
     * {@code size} sequences of {@code length} steps (appended one by one to {@code examples}) merged into one
     * DataSet; with their feature and label masks, or without any mask (every step valid).
     */
    /** The sequences with their first step's labels as one label per sequence, no labels mask. */
    private static DataSet lastStepLabels(final DataSet sequences)
    {
        return new DataSet(sequences.getFeatures(), sequences.getLabels().get(NDArrayIndex.all(), NDArrayIndex.all(),
            NDArrayIndex.point(0)).dup(), sequences.getFeaturesMaskArray(), null);
    }

    private static DataSet maskedOrNot(final boolean masked, final int length, final int size, final Random random,
        final List<DataSet> examples)
    {
        final List<DataSet> single = new ArrayList<>();
        final DataSet merged = ShapedDataEquivalenceTest.sequences(size, length, random, single);
        if (masked)
        {
            examples.addAll(single);
            return merged;
        }
        single.forEach(example -> examples.add(new DataSet(example.getFeatures(), example.getLabels())));
        return new DataSet(merged.getFeatures(), merged.getLabels());
    }

    /**
     * BatchNormalization right after an LSTM, without the preprocessors: DL4J 1.0.0-M2 cannot train it, one process
     * neither (its forward pass takes the examples for the channels). The replicas refuse it before the first step
     * with the way around; before, the fit failed with DL4J's "input.size(1) does not match expected input size".
     */
    @Test
    void batchNormalizationOnRankThreeInputIsRefusedWithTheWayAround()
    {
        final List<DataSet> examples = new ArrayList<>();
        final Random random = new Random(83);
        final List<DataSet> sources = List.of(ShapedDataEquivalenceTest.sequences(8, 6, random, examples),
            ShapedDataEquivalenceTest.sequences(8, 6, random, examples));
        final MultiLayerNetwork single = multiLayer(false);
        assertThrows(RuntimeException.class, () -> single.fit(DataSet.merge(examples)));
        final MultiLayerNetwork network = multiLayer(false);
        assertRefusedUnchanged("1 (layer1)", network.params(),
            () -> trainer(2).fit(network, SPARK.sc().parallelize(sources, 2)));

        final ComputationGraph graph = graph();
        assertThrows(RuntimeException.class, () -> graph.clone().fit(DataSet.merge(examples)));
        assertRefusedUnchanged("2 (bn)", graph.params(),
            () -> trainer(2).fit(graph, SPARK.sc().parallelize(sources, 2)));
    }

    private static void assertRefusedUnchanged(final String layer, final INDArray params, final Executable fit)
    {
        final int[] before = ShapedDataEquivalenceTest.rawBits(params);
        final String message = messages(assertThrows(TrainerException.class, fit));
        System.out.println("time-series batchnorm, rank-3 input: " + message);
        assertTrue(message.contains("BatchNormalization layer " + layer + " on rank-3 (time series) " +
            "input: DL4J's BatchNormalization trains on 2D (dense) and 4D (image) activations only, one process " +
            "too; put an RnnToFeedForwardPreProcessor before the layer and a FeedForwardToRnnPreProcessor after it"),
            message);
        assertArrayEquals(before, ShapedDataEquivalenceTest.rawBits(params), "the user's network changed");
    }

    private static DataParallelTrainer trainer(final int workers)
    {
        return new DataParallelTrainer(SPARK.sc(), TrainerConfig.builder().workers(workers)
            .batchSizePerWorker(BATCH_PER_WORKER).epochs(EPOCHS).checksumEverySteps(1).build());
    }

    /** The messages of {@code e} and its causes, one per line. */
    private static String messages(final Throwable e)
    {
        final StringBuilder text = new StringBuilder();
        for (Throwable cause = e; cause != null; cause = cause.getCause())
        {
            text.append(cause.getMessage()).append('\n');
        }
        return text.toString();
    }

    private static INDArray runningStatistic(final MultiLayerNetwork network, final String name)
    {
        return network.getParam("1_" + name);
    }

    /**
     * LSTM, BatchNormalization between DL4J's time-series preprocessors (each channel normalized over examples x
     * time steps), RnnOutputLayer.
     */
    static MultiLayerNetwork lstmWithBatchNormalization()
    {
        return multiLayer(true);
    }

    /** LSTM (its last unmasked step's output), BatchNormalization on those dense activations, OutputLayer. */
    private static MultiLayerNetwork lastTimeStepWithBatchNormalization()
    {
        final MultiLayerNetwork network = new MultiLayerNetwork(new NeuralNetConfiguration.Builder()
            .seed(13).dataType(DataType.FLOAT).updater(new Adam(0.02)).weightInit(WeightInit.XAVIER)
            .list()
            .layer(new LastTimeStep(new LSTM.Builder().nIn(3).nOut(6).activation(Activation.TANH).build()))
            .layer(new BatchNormalization.Builder().nOut(6).build())
            .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(6).nOut(4)
                .activation(Activation.SOFTMAX).build())
            .build());
        network.init();
        return network;
    }

    /** {@code preprocessors} false: BatchNormalization takes the LSTM's rank-3 output as it is. */
    private static MultiLayerNetwork multiLayer(final boolean preprocessors)
    {
        final MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder()
            .seed(13).dataType(DataType.FLOAT).updater(new Adam(0.02)).weightInit(WeightInit.XAVIER)
            .list()
            .layer(new LSTM.Builder().nIn(3).nOut(6).activation(Activation.TANH).build())
            .layer(new BatchNormalization.Builder().nOut(6).build())
            .layer(new RnnOutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(6).nOut(4)
                .activation(Activation.SOFTMAX).build())
            .inputPreProcessors(new HashMap<>(preprocessors ? Map.of(1, new RnnToFeedForwardPreProcessor(), 2,
                new FeedForwardToRnnPreProcessor()) : Map.of()))
            .build();
        final MultiLayerNetwork network = new MultiLayerNetwork(conf);
        network.init();
        return network;
    }

    /** The same as a graph, BatchNormalization on the LSTM's rank-3 output as it is. */
    private static ComputationGraph graph()
    {
        final ComputationGraph graph = new ComputationGraph(new NeuralNetConfiguration.Builder()
            .seed(13).dataType(DataType.FLOAT).updater(new Adam(0.02)).weightInit(WeightInit.XAVIER)
            .graphBuilder()
            .addInputs("in")
            .addLayer("lstm", new LSTM.Builder().nIn(3).nOut(6).activation(Activation.TANH).build(), "in")
            .addLayer("bn", new BatchNormalization.Builder().nOut(6).build(), "lstm")
            .addLayer("out", new RnnOutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(6).nOut(4)
                .activation(Activation.SOFTMAX).build(), "bn")
            .setOutputs("out")
            .build());
        graph.init();
        return graph;
    }
}
