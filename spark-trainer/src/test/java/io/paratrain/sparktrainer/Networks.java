package io.paratrain.sparktrainer;

import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** Small networks and data for tests. */
final class Networks
{
    static final int FEATURES = 12;
    static final int CLASSES = 4;

    private Networks()
    {
    }

    static MultiLayerNetwork mlp(final IUpdater updater, final long seed)
    {
        final MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder()
            .seed(seed)
            .dataType(DataType.FLOAT)
            .updater(updater)
            .weightInit(WeightInit.XAVIER)
            .list()
            .layer(new DenseLayer.Builder().nIn(FEATURES).nOut(16).activation(Activation.TANH).build())
            .layer(new DenseLayer.Builder().nIn(16).nOut(10).activation(Activation.RELU).build())
            .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(10).nOut(CLASSES)
                .activation(Activation.SOFTMAX).build())
            .build();
        final MultiLayerNetwork network = new MultiLayerNetwork(conf);
        network.init();
        return network;
    }

    /** {@code count} single examples with a learnable pattern: the class is the argmax of 4 feature sums. */
    static List<DataSet> examples(final int count, final long seed)
    {
        final Random random = new Random(seed);
        final List<DataSet> examples = new ArrayList<>(count);
        for (int i = 0; i < count; i++)
        {
            final float[] x = new float[FEATURES];
            for (int f = 0; f < FEATURES; f++)
            {
                x[f] = (float)random.nextGaussian();
            }
            int label = 0;
            for (int c = 1; c < CLASSES; c++)
            {
                if (x[c * 3] + x[c * 3 + 1] > x[label * 3] + x[label * 3 + 1])
                {
                    label = c;
                }
            }
            final float[] y = new float[CLASSES];
            y[label] = 1;
            examples.add(new DataSet(Nd4j.create(x, 1, FEATURES), Nd4j.create(y, 1, CLASSES)));
        }
        return examples;
    }

    /** Groups single examples into minibatches of {@code size} (the last may be smaller), keeping order. */
    static List<DataSet> minibatches(final List<DataSet> examples, final int size)
    {
        final List<DataSet> batches = new ArrayList<>();
        for (int start = 0; start < examples.size(); start += size)
        {
            batches.add(DataSet.merge(examples.subList(start, Math.min(examples.size(), start + size))));
        }
        return batches;
    }

    /** |actual - expected| / |expected| in the 2-norm (the reference must not be all zeros). */
    static double relativeDifference(final INDArray expected, final INDArray actual)
    {
        final double norm = expected.norm2Number().doubleValue();
        assertTrue(norm > 0, "the reference must not be all zeros");
        return actual.sub(expected).norm2Number().doubleValue() / norm;
    }
}
