package io.paratrain.sparktrainer.job;

import io.paratrain.sparktrainer.exceptions.TrainingInputException;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;

import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * What the data must match in a ComputationGraph, as the job checks a network's first and last layers: one input
 * and one output (a row of CSV, LibSVM or Parquet is one DataSet example), the width of the input (the nIn of the
 * layers the input feeds directly: the configuration keeps no input types) and the classes (the output layer's nOut).
 *
 * @param inputs  features per example.
 * @param classes the output layer's nOut.
 */
record GraphShape(int inputs, int classes)
{
    /** The shape of {@code conf}; refuses a graph the job cannot feed, naming {@code file} and what it expected. */
    static GraphShape of(final String file, final ComputationGraphConfiguration conf)
    {
        final List<String> inputs = conf.getNetworkInputs();
        final List<String> outputs = conf.getNetworkOutputs();
        if (inputs.size() != 1 || outputs.size() != 1)
        {
            throw new TrainingInputException("--model " + file + ": the job feeds a ComputationGraph DataSets of one " +
                "features array and one labels array, so it needs one input and one output; this graph has inputs " +
                inputs + " and outputs " + outputs);
        }
        return new GraphShape(inputWidth(file, conf, inputs.get(0)), classes(file, conf, outputs.get(0)));
    }

    private static int inputWidth(final String file, final ComputationGraphConfiguration conf, final String input)
    {
        final TreeSet<Long> widths = new TreeSet<>();
        for (final Map.Entry<String, List<String>> entry : conf.getVertexInputs().entrySet())
        {
            if (!entry.getValue().contains(input))
            {
                continue;
            }
            final GraphVertex vertex = conf.getVertices().get(entry.getKey());
            if (!(vertex instanceof LayerVertex layer) ||
                !(layer.getLayerConf().getLayer() instanceof FeedForwardLayer feedForward) ||
                layer.getPreProcessor() != null || feedForward.getNIn() <= 0)
            {
                throw new TrainingInputException("--model " + file + ": the job takes the number of features from " +
                    "the nIn of the layers the graph's input '" + input + "' feeds directly, but it feeds '" +
                    entry.getKey() + "' (" + describe(vertex) + "); expected a feed-forward layer (dense, output, " +
                    "...) with nIn and no input preprocessor");
            }
            widths.add(feedForward.getNIn());
        }
        if (widths.size() != 1)
        {
            throw new TrainingInputException("--model " + file + ": the layers the graph's input '" + input +
                "' feeds directly must agree on one nIn, the number of features; found " +
                (widths.isEmpty() ? "no layer" : "nIn " + widths));
        }
        return Math.toIntExact(widths.first());
    }

    private static int classes(final String file, final ComputationGraphConfiguration conf, final String output)
    {
        final GraphVertex vertex = conf.getVertices().get(output);
        if (!(vertex instanceof LayerVertex layer) ||
            !(layer.getLayerConf().getLayer() instanceof FeedForwardLayer feedForward) || feedForward.getNOut() <= 0)
        {
            throw new TrainingInputException("--model " + file + ": the graph's output '" + output + "' (" +
                describe(vertex) + ") is not a feed-forward layer with nOut (the number of classes), such as an " +
                "output layer");
        }
        return Math.toIntExact(feedForward.getNOut());
    }

    private static String describe(final GraphVertex vertex)
    {
        if (vertex instanceof LayerVertex layer)
        {
            return layer.getLayerConf().getLayer().getClass().getSimpleName() +
                (layer.getPreProcessor() == null ? "" : " with the input preprocessor " +
                    layer.getPreProcessor().getClass().getSimpleName());
        }
        return vertex == null ? "no vertex" : vertex.getClass().getSimpleName();
    }
}
