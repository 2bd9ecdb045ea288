package io.paratrain.benchmarks;

import io.paratrain.sparktrainer.job.ModelSource;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.util.Arrays;

/**
 * The networks {@code bin/bench-train} trains, by the name its runs pass around: {@code lenet}, {@code graph-bn}
 * (a ComputationGraph) or the hidden layer sizes of an MLP ({@code 1000,500}). All take the bundled MNIST rows
 * (784 floats) and train with Adam 1e-3, seed 42.
 */
final class BenchModels
{
    static final String LENET = "lenet";
    static final String GRAPH_BN = "graph-bn";

    private BenchModels()
    {
    }

    /** Whether {@code architecture} names a ComputationGraph ({@link #graph}) rather than a MultiLayerNetwork. */
    static boolean isGraph(final String architecture)
    {
        return GRAPH_BN.equals(architecture);
    }

    /** Whether {@code architecture} is an MLP (hidden layer sizes). */
    static boolean isMlp(final String architecture)
    {
        return !LENET.equals(architecture) && !isGraph(architecture);
    }

    static MultiLayerConfiguration configuration(final String architecture)
    {
        if (isGraph(architecture))
        {
            throw new IllegalArgumentException(architecture + " is a ComputationGraph: use graph()");
        }
        if (LENET.equals(architecture))
        {
            return lenet();
        }
        final int[] hidden = Arrays.stream(architecture.split(",")).mapToInt(Integer::parseInt).toArray();
        return ModelSource.mlp(784, hidden, 10, new Adam(1e-3), 42);
    }

    /**
     * LeNet-style CNN on 28x28x1 (the flat rows are reshaped by the input type): conv 5x5x20, max-pool 2x2,
     * conv 5x5x50, max-pool 2x2, dense 500 (ReLU), softmax over 10. 431,080 parameters.
     */
    static MultiLayerConfiguration lenet()
    {
        return new NeuralNetConfiguration.Builder()
            .seed(42)
            .dataType(DataType.FLOAT)
            .updater(new Adam(1e-3))
            .weightInit(WeightInit.XAVIER)
            .list()
            .layer(new ConvolutionLayer.Builder(5, 5).nOut(20).activation(Activation.IDENTITY).build())
            .layer(new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX).kernelSize(2, 2).stride(2, 2).build())
            .layer(new ConvolutionLayer.Builder(5, 5).nOut(50).activation(Activation.IDENTITY).build())
            .layer(new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX).kernelSize(2, 2).stride(2, 2).build())
            .layer(new DenseLayer.Builder().nOut(500).activation(Activation.RELU).build())
            .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(10)
                .activation(Activation.SOFTMAX).build())
            .setInputType(InputType.convolutionalFlat(28, 28, 1))
            .build();
    }

    /**
     * A small residual ComputationGraph with BatchNormalization: in (784) -> dense 256 (no bias: normalization
     * cancels it) -> BatchNormalization (ReLU) -> dense 256 (ReLU) -> skip = bn + dense (ElementWiseVertex Add) ->
     * softmax over 10. 270,090 parameters, 512 of them BatchNormalization's running mean and variance.
     */
    static ComputationGraphConfiguration graph()
    {
        return new NeuralNetConfiguration.Builder()
            .seed(42)
            .dataType(DataType.FLOAT)
            .updater(new Adam(1e-3))
            .weightInit(WeightInit.XAVIER)
            .graphBuilder()
            .addInputs("in")
            .addLayer("dense", new DenseLayer.Builder().nIn(784).nOut(256).activation(Activation.IDENTITY)
                .hasBias(false).build(), "in")
            .addLayer("bn", new BatchNormalization.Builder().nOut(256).activation(Activation.RELU).build(), "dense")
            .addLayer("hidden", new DenseLayer.Builder().nIn(256).nOut(256).activation(Activation.RELU).build(), "bn")
            .addVertex("skip", new ElementWiseVertex(ElementWiseVertex.Op.Add), "bn", "hidden")
            .addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(256).nOut(10)
                .activation(Activation.SOFTMAX).build(), "skip")
            .setOutputs("out")
            .build();
    }
}
