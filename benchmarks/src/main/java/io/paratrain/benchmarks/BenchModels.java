package io.paratrain.benchmarks;

import io.paratrain.sparktrainer.job.ModelSource;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
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
 * The networks {@code bin/bench-train} trains, by the name its runs pass around: {@code lenet} or the hidden
 * layer sizes of an MLP ({@code 1000,500}). All take the bundled MNIST rows (784 floats) and train with Adam 1e-3,
 * seed 42.
 */
final class BenchModels
{
    static final String LENET = "lenet";

    private BenchModels()
    {
    }

    static MultiLayerConfiguration configuration(final String architecture)
    {
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
}
