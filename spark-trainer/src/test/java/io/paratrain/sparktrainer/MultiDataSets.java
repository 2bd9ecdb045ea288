package io.paratrain.sparktrainer;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.MergeVertex;
import org.deeplearning4j.nn.conf.graph.rnn.LastTimeStepVertex;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * A ComputationGraph with two inputs and two outputs, and single-example MultiDataSets for it: a dense input
 * ({@value #DENSE} features, no mask) and a time series input ({@value #CHANNELS} channels, with a feature mask),
 * a classification output (softmax, cross-entropy, {@value #CLASSES} classes) and a regression output (identity,
 * squared error, {@value #VALUES} values).
 */
final class MultiDataSets
{
    static final int DENSE = 6;
    static final int CHANNELS = 3;
    static final int CLASSES = 4;
    static final int VALUES = 2;
    static final int MAX_LENGTH = 6;

    private MultiDataSets()
    {
    }

    /**
     * "dense" -> dense layer; "series" -> LSTM -> its last unmasked step (LastTimeStepVertex on the series' mask);
     * both merged -> hidden dense -> "class" (MCXENT) and "value" (MSE).
     */
    static ComputationGraph graph(final IUpdater updater, final long seed)
    {
        final ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder()
            .seed(seed)
            .dataType(DataType.FLOAT)
            .updater(updater)
            .weightInit(WeightInit.XAVIER)
            .graphBuilder()
            .addInputs("dense", "series")
            .addLayer("denseIn", new DenseLayer.Builder().nIn(DENSE).nOut(8).activation(Activation.TANH).build(),
                "dense")
            .addLayer("lstm", new LSTM.Builder().nIn(CHANNELS).nOut(5).activation(Activation.TANH).build(),
                "series")
            .addVertex("last", new LastTimeStepVertex("series"), "lstm")
            .addVertex("merge", new MergeVertex(), "denseIn", "last")
            .addLayer("hidden", new DenseLayer.Builder().nIn(13).nOut(12).activation(Activation.RELU).build(),
                "merge")
            .addLayer("class", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(12).nOut(CLASSES)
                .activation(Activation.SOFTMAX).build(), "hidden")
            .addLayer("value", new OutputLayer.Builder(LossFunctions.LossFunction.MSE).nIn(12).nOut(VALUES)
                .activation(Activation.IDENTITY).build(), "hidden")
            .setOutputs("class", "value")
            .build();
        final ComputationGraph graph = new ComputationGraph(conf);
        graph.init();
        return graph;
    }

    /**
     * {@code count} single examples with a learnable pattern. With {@code variableLengths} each series has its own
     * length (2 to {@value #MAX_LENGTH}) and a mask of ones; otherwise every series has {@value #MAX_LENGTH} steps
     * and a mask that ends it after 2 to {@value #MAX_LENGTH} steps (one shape: the exchange over the ring).
     */
    static List<MultiDataSet> examples(final int count, final long seed, final boolean variableLengths)
    {
        final Random random = new Random(seed);
        final List<MultiDataSet> examples = new ArrayList<>(count);
        for (int i = 0; i < count; i++)
        {
            final float[] dense = new float[DENSE];
            for (int f = 0; f < DENSE; f++)
            {
                dense[f] = (float)random.nextGaussian();
            }
            final int used = 2 + random.nextInt(MAX_LENGTH - 1);
            final int length = variableLengths ? used : MAX_LENGTH;
            final INDArray series = Nd4j.zeros(DataType.FLOAT, 1, CHANNELS, length);
            final INDArray mask = Nd4j.zeros(DataType.FLOAT, 1, length);
            float seriesSum = 0;
            for (int t = 0; t < used; t++)
            {
                mask.putScalar(0, t, 1);
                for (int c = 0; c < CHANNELS; c++)
                {
                    final float v = (float)random.nextGaussian();
                    series.putScalar(new long[] {0, c, t}, v);
                    seriesSum += c == 0 ? v : 0;
                }
            }
            final float[] classes = new float[CLASSES];
            classes[(dense[0] > 0 ? 1 : 0) + (seriesSum > 0 ? 2 : 0)] = 1;
            final float[] values = {dense[1] + dense[2], seriesSum / used};
            examples.add(new org.nd4j.linalg.dataset.MultiDataSet(
                new INDArray[] {Nd4j.create(dense, 1, DENSE), series},
                new INDArray[] {Nd4j.create(classes, 1, CLASSES), Nd4j.create(values, 1, VALUES)},
                new INDArray[] {null, mask}, null));
        }
        return examples;
    }

    /** Merges single examples into minibatches of {@code size} (the last may be smaller) with DL4J's merge. */
    static List<MultiDataSet> minibatches(final List<MultiDataSet> examples, final int size)
    {
        final List<MultiDataSet> batches = new ArrayList<>();
        for (int start = 0; start < examples.size(); start += size)
        {
            batches.add(org.nd4j.linalg.dataset.MultiDataSet.merge(examples.subList(start,
                Math.min(examples.size(), start + size))));
        }
        return batches;
    }
}
