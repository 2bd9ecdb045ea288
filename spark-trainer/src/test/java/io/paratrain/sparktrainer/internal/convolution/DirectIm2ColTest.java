package io.paratrain.sparktrainer.internal.convolution;

import io.paratrain.sparktrainer.RawBits;
import io.paratrain.sparktrainer.internal.snapshot.NetworkModel;
import org.deeplearning4j.datasets.iterator.utilty.ListDataSetIterator;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

class DirectIm2ColTest
{
    /**
     * The same network trained with DL4J's convolution path and with the direct im2col ends with bitwise the same
     * parameters, also for a smaller last minibatch: padding, strides, dilation, several input channels, a layer
     * without bias, Strict mode.
     */
    @ParameterizedTest
    @ValueSource(strings = {"lenet", "padded-strided", "dilated-no-bias"})
    void trainsBitwiseAsDl4jsOwnConvolution(final String variant)
    {
        final MultiLayerNetwork reference = network(variant);
        final MultiLayerNetwork direct = network(variant);
        assertEquals(2, DirectIm2Col.installWherePossible(model(direct)), "both convolution layers");
        for (final DataSet batch : batches(variant.equals("lenet") ? 1 : 3, new int[] {16, 16, 5}))
        {
            reference.fit(batch);
            direct.fit(batch);
        }
        for (final int layer : new int[] {0, direct.getLayers().length - 2})
        {
            // 3 fits x (forward, backward's forward, backward) + nothing in DL4J's fallback
            assertEquals(3 * 3, helper(direct, layer).passes(), "layer " + layer);
            assertEquals(3, helper(direct, layer).im2colBuilds(), "layer " + layer + ": one im2col per fit");
        }
        assertFalse(reference.params().equalsWithEps(network(variant).params(), 1e-3), "training moved the params");
        assertArrayEquals(RawBits.of(reference.params()), RawBits.of(direct.params()), variant);
        final INDArray input = batches(variant.equals("lenet") ? 1 : 3, new int[] {7}).get(0).getFeatures();
        assertArrayEquals(RawBits.of(reference.output(input)), RawBits.of(direct.output(input)), "inference");
    }

    /**
     * Each convolution layer builds its im2col matrix once per training step, though DL4J calls the helper three
     * times (forward, the backward pass's forward, backward), and once per minibatch of output() and evaluate();
     * a pass whose input holds the values of the last build reuses its matrix, also from output() to fit. The
     * parameters stay bitwise DL4J's after every fit, outputs too. The values decide a reuse, not the array or its
     * address (DL4J hands the helper other arrays for the same values, and a new minibatch the old one's memory:
     * {@link Im2ColRowsTest}).
     */
    @ParameterizedTest
    @ValueSource(strings = {"lenet", "padded-strided", "dilated-no-bias"})
    void buildsTheMatrixOncePerStepAndOnlyForNewInputs(final String variant)
    {
        final MultiLayerNetwork reference = network(variant);
        final MultiLayerNetwork direct = network(variant);
        assertEquals(2, DirectIm2Col.installWherePossible(model(direct)), "both convolution layers");
        final int[] convolutions = {0, direct.getLayers().length - 2};
        final int channels = variant.equals("lenet") ? 1 : 3;
        final List<DataSet> batches = batches(channels, new int[] {16, 16, 16, 5});
        for (int i = 0; i < batches.size(); i++)
        {
            reference.fit(batches.get(i));
            direct.fit(batches.get(i));
            RawBits.assertSameModel(reference, direct, variant + ", fit " + i);
            assertCounts(direct, convolutions, 3L * (i + 1), new long[] {i + 1, i + 1}, "after fit " + i);
        }

        final INDArray features = batches.get(1).getFeatures();
        RawBits.assertSameBits(reference.output(features), direct.output(features), variant + ", output");
        assertCounts(direct, convolutions, 13, new long[] {5, 5}, "after output()");
        RawBits.assertSameBits(reference.output(features), direct.output(features), variant + ", same output");
        assertCounts(direct, convolutions, 14, new long[] {5, 5}, "output() of the same features: reused");

        // the forward pass sees output()'s values in both layers (same features, same parameters)
        reference.fit(batches.get(1));
        direct.fit(batches.get(1));
        RawBits.assertSameModel(reference, direct, variant + ", fit after output()");
        assertCounts(direct, convolutions, 17, new long[] {5, 5}, "fit on the features just output");
        // same features again: the first layer's input is unchanged, the second's moved with the update
        reference.fit(batches.get(1));
        direct.fit(batches.get(1));
        RawBits.assertSameModel(reference, direct, variant + ", second fit on the same minibatch");
        assertCounts(direct, convolutions, 20, new long[] {5, 6}, "fit again on the same features");

        final List<DataSet> test = batches(channels, new int[] {7, 7});
        final Evaluation expected = reference.evaluate(new ListDataSetIterator<>(test, 1));
        final Evaluation actual = direct.evaluate(new ListDataSetIterator<>(test, 1));
        assertEquals(expected.stats(), actual.stats(), variant + ", evaluation");
        assertCounts(direct, convolutions, 22, new long[] {7, 8}, "after evaluating two minibatches");
        RawBits.assertSameBits(reference.output(test.get(1).getFeatures()), direct.output(test.get(1).getFeatures()),
            variant + ", output of the last evaluated minibatch");
        assertCounts(direct, convolutions, 23, new long[] {7, 8}, "output() of the last evaluated features");

        reference.fit(batches.get(2));
        direct.fit(batches.get(2));
        RawBits.assertSameModel(reference, direct, variant + ", fit after evaluation");
        assertCounts(direct, convolutions, 26, new long[] {8, 9}, "fit after evaluation");
    }

    /** Same mode (the op recomputes the padding) keeps DL4J's path. */
    @Test
    void sameModeLayersKeepDl4jsPath()
    {
        final MultiLayerNetwork network = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(7)
            .dataType(DataType.FLOAT).list()
            .layer(new ConvolutionLayer.Builder(3, 3).nOut(4).convolutionMode(ConvolutionMode.Same).build())
            .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(3).activation(Activation.SOFTMAX)
                .build())
            .setInputType(InputType.convolutional(6, 6, 1)).build());
        network.init();
        assertEquals(0, DirectIm2Col.installWherePossible(model(network)));
    }

    private static DirectIm2ColHelper helper(final MultiLayerNetwork network, final int layer)
    {
        return (DirectIm2ColHelper)network.getLayer(layer).getHelper();
    }

    /** Every convolution layer made {@code passes} helper passes; layer i built {@code builds[i]} matrices. */
    private static void assertCounts(final MultiLayerNetwork network, final int[] convolutions, final long passes,
        final long[] builds, final String when)
    {
        for (int i = 0; i < convolutions.length; i++)
        {
            assertEquals(passes, helper(network, convolutions[i]).passes(), "layer " + convolutions[i] + " passes, " +
                when);
            assertEquals(builds[i], helper(network, convolutions[i]).im2colBuilds(), "layer " + convolutions[i] +
                " im2col builds, " + when);
        }
    }

    private static NetworkModel model(final MultiLayerNetwork network)
    {
        return NetworkModel.of(network);
    }

    private static MultiLayerNetwork network(final String variant)
    {
        final NeuralNetConfiguration.ListBuilder list = new NeuralNetConfiguration.Builder().seed(42)
            .dataType(DataType.FLOAT).updater(new Adam(1e-2)).weightInit(WeightInit.XAVIER).list();
        switch (variant)
        {
            case "lenet" -> list
                .layer(new ConvolutionLayer.Builder(5, 5).nOut(6).activation(Activation.IDENTITY).build())
                .layer(new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX).kernelSize(2, 2).stride(2, 2)
                    .build())
                .layer(new ConvolutionLayer.Builder(5, 5).nOut(8).activation(Activation.IDENTITY).build());
            case "padded-strided" -> list
                .layer(new ConvolutionLayer.Builder(3, 3).nOut(5).padding(2, 1).stride(2, 1)
                    .activation(Activation.RELU).build())
                .layer(new ConvolutionLayer.Builder(4, 2).nOut(6).padding(1, 1).stride(1, 2)
                    .convolutionMode(ConvolutionMode.Truncate).activation(Activation.TANH).build());
            case "dilated-no-bias" -> list
                .layer(new ConvolutionLayer.Builder(3, 3).nOut(4).dilation(2, 2).hasBias(false)
                    .activation(Activation.RELU).build())
                .layer(new ConvolutionLayer.Builder(2, 2).nOut(5).stride(2, 2).convolutionMode(ConvolutionMode.Strict)
                    .activation(Activation.SIGMOID).build());
            default -> throw new IllegalArgumentException(variant);
        }
        final MultiLayerConfiguration conf = list
            .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(3).activation(Activation.SOFTMAX)
                .build())
            .setInputType(variant.equals("lenet") ? InputType.convolutionalFlat(28, 28, 1) :
                InputType.convolutional(14, 14, 3))
            .build();
        final MultiLayerNetwork network = new MultiLayerNetwork(conf);
        network.init();
        return network;
    }

    /** Minibatches of the given sizes: flat 28x28 rows for LeNet, else [n, 3, 14, 14]; one-hot labels over 3. */
    private static List<DataSet> batches(final int channels, final int[] sizes)
    {
        final Random random = new Random(11);
        final List<DataSet> batches = new ArrayList<>();
        for (final int size : sizes)
        {
            final long[] shape = channels == 1 ? new long[] {size, 784} : new long[] {size, channels, 14, 14};
            final INDArray features = Nd4j.create(DataType.FLOAT, shape);
            final float[] values = new float[(int)features.length()];
            for (int i = 0; i < values.length; i++)
            {
                values[i] = random.nextFloat() - 0.3f;
            }
            features.assign(Nd4j.create(values, shape, 'c'));
            final INDArray labels = Nd4j.zeros(DataType.FLOAT, size, 3);
            for (int i = 0; i < size; i++)
            {
                labels.putScalar(i, random.nextInt(3), 1f);
            }
            batches.add(new DataSet(features, labels));
        }
        return batches;
    }
}
