package io.paratrain.sparktrainer.job;

import io.paratrain.sparktrainer.exceptions.TrainingInputException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.Nesterovs;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * Turns {@code --model} into a model: a named preset or a DL4J MultiLayerConfiguration or ComputationGraphConfiguration
 * JSON file on any Hadoop path.
 */
public final class ModelSource
{
    /** Preset name to hidden layer sizes; all are 784 inputs, ReLU hidden layers, softmax over 10 classes. */
    public static final Map<String, int[]> PRESETS = Map.of(
        "mnist-mlp", new int[] {256},
        "mnist-mlp-large", new int[] {1000, 500});

    private ModelSource()
    {
    }

    /** The model {@code --model} names: a preset network, or the network or graph its JSON file configures. */
    public static JobModel load(final JobOptions options, final Configuration hadoop)
    {
        final int[] hidden = PRESETS.get(options.model());
        if (hidden != null)
        {
            return new JobModel.Network(options.model(),
                mlp(784, hidden, 10, updater(options.updater(), options.learningRate()), options.seed()));
        }
        final Path path = new Path(options.model());
        final String json;
        try (InputStream in = path.getFileSystem(hadoop).open(path))
        {
            json = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        catch (final IOException ex)
        {
            throw new TrainingInputException("--model " + options.model() + " is neither a preset " +
                PRESETS.keySet() + " nor a readable file: " + ex.getMessage(), ex);
        }
        return ModelJson.parse(options.model(), json);
    }

    public static MultiLayerConfiguration mlp(final int inputs, final int[] hidden, final int classes,
        final IUpdater updater, final long seed)
    {
        final NeuralNetConfiguration.ListBuilder list = new NeuralNetConfiguration.Builder()
            .seed(seed)
            .dataType(DataType.FLOAT)
            .updater(updater)
            .weightInit(WeightInit.XAVIER)
            .list();
        int in = inputs;
        for (final int size : hidden)
        {
            list.layer(new DenseLayer.Builder().nIn(in).nOut(size).activation(Activation.RELU).build());
            in = size;
        }
        list.layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(in).nOut(classes)
            .activation(Activation.SOFTMAX).build());
        return list.build();
    }

    public static IUpdater updater(final String name, final double learningRate)
    {
        return switch (name)
        {
            case "adam" -> new Adam(learningRate);
            case "nesterovs" -> new Nesterovs(learningRate, 0.9);
            case "sgd" -> new Sgd(learningRate);
            default -> throw new IllegalArgumentException("unknown updater " + name);
        };
    }

    /** Inputs of the first layer and outputs of the last, which the data must match. */
    public static int[] inputsAndClasses(final MultiLayerConfiguration conf)
    {
        final int layers = conf.getConfs().size();
        if (!(conf.getConf(0).getLayer() instanceof FeedForwardLayer first) ||
            !(conf.getConf(layers - 1).getLayer() instanceof FeedForwardLayer last))
        {
            throw new TrainingInputException("the job trains feed-forward networks: the first and last layers must " +
                "be dense/output layers with nIn and nOut");
        }
        return new int[] {(int)first.getNIn(), (int)last.getNOut()};
    }
}
