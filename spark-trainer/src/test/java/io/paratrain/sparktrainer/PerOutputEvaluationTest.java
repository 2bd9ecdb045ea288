package io.paratrain.sparktrainer;

import org.deeplearning4j.datasets.iterator.utilty.SingletonMultiDataSetIterator;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.weights.WeightInit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.nd4j.evaluation.IEvaluation;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.evaluation.classification.EvaluationBinary;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

/**
 * {@link DataParallelTrainer#evaluateOutputs} on a time-series output and on binary outputs: each output's
 * distributed evaluation counts what DL4J's single-process {@code ComputationGraph.evaluate(iterator, Map<Integer,
 * IEvaluation[]>)} counts on the same minibatches.
 */
@Timeout(300)
class PerOutputEvaluationTest
{
    private static final int CHANNELS = 2;
    private static final int STEP_CLASSES = 3;
    private static final int BINARY_FEATURES = 4;
    private static final int FLAGS = 3;
    @RegisterExtension
    static final LocalSpark SPARK = new LocalSpark(2);

    /**
     * A time-series classifier (RnnOutputLayer, MCXENT, a class per time step) on minibatches of different lengths,
     * each example ending at its own step (labels mask): on 2 partitions, and on 2 empty ones before them, the
     * confusion matrix equals DL4J's cell by cell, and counts exactly the unmasked steps.
     */
    @Test
    void timeSeriesOutputWithLabelsMaskCountsWhatDl4jCountsInOneProcess()
    {
        final ComputationGraph graph = timeSeriesGraph(83);
        final Random random = new Random(29);
        final List<MultiDataSet> batches = new ArrayList<>();
        int unmaskedSteps = 0;
        for (int b = 0; b < 14; b++)
        {
            final int length = 3 + b % 5; // minibatches of 3 to 7 steps
            final int size = 4 + b % 3;
            final int[] lengths = new int[size];
            for (int e = 0; e < size; e++)
            {
                lengths[e] = 1 + random.nextInt(length); // padded after its own last step
                unmaskedSteps += lengths[e];
            }
            batches.add(timeSeriesBatch(random, length, lengths));
        }
        for (int epoch = 0; epoch < 2; epoch++) // partly trained: mistakes in every row of the matrix
        {
            batches.forEach(graph::fit);
        }
        final Evaluation local = new Evaluation(STEP_CLASSES);
        for (final MultiDataSet batch : batches)
        {
            graph.evaluate(new SingletonMultiDataSetIterator(batch), Map.of(0, new IEvaluation[] {local}));
        }
        assertEquals(unmaskedSteps, local.getNumRowCounter(), 0.0, "DL4J counts each unmasked step once");
        final DataParallelTrainer trainer = new DataParallelTrainer(SPARK.sc(), TrainerConfig.builder().workers(2)
            .batchSizePerWorker(4).epochs(1).build());
        assertConfusionAsDl4j(local, trainer.evaluateOutputs(graph, SPARK.sc().parallelize(batches, 2)),
            "2 partitions");
        assertConfusionAsDl4j(local, trainer.evaluateOutputs(graph, SPARK.sc().<MultiDataSet>parallelize(List.of(),
            2).union(SPARK.sc().parallelize(batches, 2))), "2 empty partitions, then 2");
    }

    /**
     * Binary outputs (sigmoid, XENT): "flags" with 3 columns under a mask per label cell, "flag" with one column
     * under a mask per example. Each is evaluated by an EvaluationBinary whose four counts per column equal those of
     * DL4J's EvaluationBinary in one process, on 2 partitions and on 2 empty ones before them; for the one column,
     * they are also DL4J's Evaluation's binary confusion matrix (threshold 0.5, class 1 positive).
     */
    @Test
    void binaryOutputsCountWhatDl4jCountsInOneProcess()
    {
        final ComputationGraph graph = binaryGraph(91);
        final Random random = new Random(37);
        final List<MultiDataSet> batches = new ArrayList<>();
        int flagsCounted = 0;
        int flagCounted = 0;
        for (int b = 0; b < 12; b++)
        {
            final int size = 5 + b % 4;
            final INDArray features = Nd4j.zeros(DataType.FLOAT, size, BINARY_FEATURES);
            final INDArray flags = Nd4j.zeros(DataType.FLOAT, size, FLAGS);
            final INDArray flagsMask = Nd4j.ones(DataType.FLOAT, size, FLAGS);
            final INDArray flag = Nd4j.zeros(DataType.FLOAT, size, 1);
            final INDArray flagMask = Nd4j.ones(DataType.FLOAT, size, 1);
            for (int e = 0; e < size; e++)
            {
                final double[] x = new double[BINARY_FEATURES];
                for (int f = 0; f < BINARY_FEATURES; f++)
                {
                    x[f] = random.nextGaussian();
                    features.putScalar(e, f, x[f]);
                }
                for (int c = 0; c < FLAGS; c++)
                {
                    flags.putScalar(e, c, x[c] + 0.5 * x[c + 1] > 0 ? 1 : 0);
                    final boolean masked = random.nextInt(6) == 0;
                    flagsMask.putScalar(e, c, masked ? 0 : 1);
                    flagsCounted += masked ? 0 : 1;
                }
                flag.putScalar(e, 0, x[0] * x[3] > 0 ? 1 : 0); // not linear: mistakes both ways
                final boolean masked = random.nextInt(5) == 0;
                flagMask.putScalar(e, 0, masked ? 0 : 1);
                flagCounted += masked ? 0 : 1;
            }
            batches.add(new org.nd4j.linalg.dataset.MultiDataSet(new INDArray[] {features},
                new INDArray[] {flags, flag}, null, new INDArray[] {flagsMask, flagMask}));
        }
        for (int epoch = 0; epoch < 3; epoch++)
        {
            batches.forEach(graph::fit);
        }
        final EvaluationBinary localFlags = new EvaluationBinary(FLAGS, null);
        final EvaluationBinary localFlag = new EvaluationBinary(1, null);
        final Evaluation localFlagAsClasses = new Evaluation(2);
        for (final MultiDataSet batch : batches)
        {
            graph.evaluate(new SingletonMultiDataSetIterator(batch), Map.of(0, new IEvaluation[] {localFlags},
                1, new IEvaluation[] {localFlag, localFlagAsClasses}));
        }
        int localFlagsCounted = 0;
        for (int c = 0; c < FLAGS; c++)
        {
            localFlagsCounted += localFlags.totalCount(c);
        }
        assertEquals(flagsCounted, localFlagsCounted, "DL4J counts each unmasked label cell once");
        assertEquals(flagCounted, localFlag.totalCount(0), "DL4J counts each unmasked example once");
        // DL4J's Evaluation on one sigmoid column: the same four counts as EvaluationBinary's
        assertEquals(localFlag.truePositives(0), localFlagAsClasses.getConfusionMatrix().getCount(1, 1));
        assertEquals(localFlag.falsePositives(0), localFlagAsClasses.getConfusionMatrix().getCount(0, 1));
        assertEquals(localFlag.trueNegatives(0), localFlagAsClasses.getConfusionMatrix().getCount(0, 0));
        assertEquals(localFlag.falseNegatives(0), localFlagAsClasses.getConfusionMatrix().getCount(1, 0));
        final DataParallelTrainer trainer = new DataParallelTrainer(SPARK.sc(), TrainerConfig.builder().workers(2)
            .batchSizePerWorker(4).epochs(1).build());
        assertBinaryAsDl4j(List.of(localFlags, localFlag), trainer.evaluateOutputs(graph,
            SPARK.sc().parallelize(batches, 2)), "2 partitions");
        assertBinaryAsDl4j(List.of(localFlags, localFlag), trainer.evaluateOutputs(graph,
            SPARK.sc().<MultiDataSet>parallelize(List.of(), 2).union(SPARK.sc().parallelize(batches, 2))),
            "2 empty partitions, then 2");
    }

    private static void assertBinaryAsDl4j(final List<EvaluationBinary> local, final List<IEvaluation<?>> distributed,
        final String partitions)
    {
        assertEquals(2, distributed.size());
        final List<String> names = List.of("flags", "flag");
        for (int output = 0; output < 2; output++)
        {
            final EvaluationBinary expected = local.get(output);
            final EvaluationBinary actual = assertInstanceOf(EvaluationBinary.class, distributed.get(output));
            assertEquals(expected.numLabels(), actual.numLabels());
            for (int c = 0; c < expected.numLabels(); c++)
            {
                final String what = partitions + ": output '" + names.get(output) + "', column " + c;
                assertEquals(expected.truePositives(c), actual.truePositives(c), what + ": true positives");
                assertEquals(expected.falsePositives(c), actual.falsePositives(c), what + ": false positives");
                assertEquals(expected.trueNegatives(c), actual.trueNegatives(c), what + ": true negatives");
                assertEquals(expected.falseNegatives(c), actual.falseNegatives(c), what + ": false negatives");
                System.out.printf("evaluateOutputs, binary, %s: TP %d FP %d TN %d FN %d (DL4J %d %d %d %d)%n", what,
                    actual.truePositives(c), actual.falsePositives(c), actual.trueNegatives(c),
                    actual.falseNegatives(c), expected.truePositives(c), expected.falsePositives(c),
                    expected.trueNegatives(c), expected.falseNegatives(c));
            }
        }
    }

    private static void assertConfusionAsDl4j(final Evaluation local, final List<IEvaluation<?>> distributed,
        final String partitions)
    {
        assertEquals(1, distributed.size());
        final Evaluation evaluation = assertInstanceOf(Evaluation.class, distributed.get(0));
        assertEquals(local.getNumRowCounter(), evaluation.getNumRowCounter(), 0.0, partitions + ": steps counted");
        for (int actual = 0; actual < STEP_CLASSES; actual++)
        {
            for (int predicted = 0; predicted < STEP_CLASSES; predicted++)
            {
                assertEquals(local.getConfusionMatrix().getCount(actual, predicted),
                    evaluation.getConfusionMatrix().getCount(actual, predicted), partitions +
                    ": output 'step': confusion matrix, actual " + actual + ", predicted " + predicted);
            }
        }
        System.out.printf("evaluateOutputs, time series, %s: 'step' accuracy %.4f (DL4J %.4f) over %d steps%n%s%n",
            partitions, evaluation.accuracy(), local.accuracy(), (long)evaluation.getNumRowCounter(),
            evaluation.confusionToString());
    }

    /** Float parameters, Adam(0.02), Xavier weights, {@code seed}: what both test graphs share. */
    private static ComputationGraphConfiguration.GraphBuilder graphBuilder(final long seed)
    {
        return new NeuralNetConfiguration.Builder()
            .seed(seed)
            .dataType(DataType.FLOAT)
            .updater(new Adam(0.02))
            .weightInit(WeightInit.XAVIER)
            .graphBuilder();
    }

    /**
     * "in" ({@value #BINARY_FEATURES} features) -> dense -> "flags" ({@value #FLAGS} sigmoid columns, XENT) and
     * "flag" (one sigmoid column, XENT).
     */
    private static ComputationGraph binaryGraph(final long seed)
    {
        final ComputationGraphConfiguration conf = graphBuilder(seed)
            .addInputs("in")
            .addLayer("hidden", new DenseLayer.Builder().nIn(BINARY_FEATURES).nOut(8).activation(Activation.TANH)
                .build(), "in")
            .addLayer("flags", new OutputLayer.Builder(LossFunctions.LossFunction.XENT).nIn(8).nOut(FLAGS)
                .activation(Activation.SIGMOID).build(), "hidden")
            .addLayer("flag", new OutputLayer.Builder(LossFunctions.LossFunction.XENT).nIn(8).nOut(1)
                .activation(Activation.SIGMOID).build(), "hidden")
            .setOutputs("flags", "flag")
            .build();
        final ComputationGraph graph = new ComputationGraph(conf);
        graph.init();
        return graph;
    }

    /** "series" -> LSTM -> "step" (RnnOutputLayer, softmax, MCXENT, {@value #STEP_CLASSES} classes per step). */
    private static ComputationGraph timeSeriesGraph(final long seed)
    {
        final ComputationGraphConfiguration conf = graphBuilder(seed)
            .addInputs("series")
            .addLayer("lstm", new LSTM.Builder().nIn(CHANNELS).nOut(6).activation(Activation.TANH).build(),
                "series")
            .addLayer("step", new RnnOutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(6)
                .nOut(STEP_CLASSES).activation(Activation.SOFTMAX)
                .dataFormat(RNNFormat.NCW).build(), "lstm") // without it (no input types) DL4J reads [b, t, c]
            .setOutputs("step")
            .build();
        final ComputationGraph graph = new ComputationGraph(conf);
        graph.init();
        return graph;
    }

    /**
     * One minibatch of {@code length} steps; example e has {@code lengths[e]} steps, then zeros under a zero mask
     * (features and labels). The class of a step is how many of its two channels are positive.
     */
    private static MultiDataSet timeSeriesBatch(final Random random, final int length, final int[] lengths)
    {
        final int size = lengths.length;
        final INDArray features = Nd4j.zeros(DataType.FLOAT, size, CHANNELS, length);
        final INDArray labels = Nd4j.zeros(DataType.FLOAT, size, STEP_CLASSES, length);
        final INDArray mask = Nd4j.zeros(DataType.FLOAT, size, length);
        for (int e = 0; e < size; e++)
        {
            for (int t = 0; t < lengths[e]; t++)
            {
                int positive = 0;
                for (int c = 0; c < CHANNELS; c++)
                {
                    final double v = random.nextGaussian();
                    features.putScalar(new long[] {e, c, t}, v);
                    positive += v > 0 ? 1 : 0;
                }
                labels.putScalar(new long[] {e, positive, t}, 1);
                mask.putScalar(e, t, 1);
            }
        }
        return new org.nd4j.linalg.dataset.MultiDataSet(new INDArray[] {features}, new INDArray[] {labels},
            new INDArray[] {mask}, new INDArray[] {mask.dup()});
    }
}
