package io.paratrain.sparktrainer;

import org.deeplearning4j.datasets.iterator.utilty.SingletonMultiDataSetIterator;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.weights.WeightInit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.nd4j.evaluation.IEvaluation;
import org.nd4j.evaluation.classification.Evaluation;
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
 * {@link DataParallelTrainer#evaluateOutputs} on outputs other than one row per example: each output's distributed
 * evaluation counts what DL4J's single-process {@code ComputationGraph.evaluate(iterator, Map<Integer,
 * IEvaluation[]>)} counts on the same minibatches.
 */
@Timeout(300)
class PerOutputEvaluationTest
{
    private static final int CHANNELS = 2;
    private static final int STEP_CLASSES = 3;
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

    /** "series" -> LSTM -> "step" (RnnOutputLayer, softmax, MCXENT, {@value #STEP_CLASSES} classes per step). */
    private static ComputationGraph timeSeriesGraph(final long seed)
    {
        final ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder()
            .seed(seed)
            .dataType(DataType.FLOAT)
            .updater(new Adam(0.02))
            .weightInit(WeightInit.XAVIER)
            .graphBuilder()
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
