package io.paratrain.sparktrainer.job;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.BaseOutputLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * What exported MultiDataSets must match in a ComputationGraph of any number of inputs and outputs: one features
 * array per input and one labels array per output, in the graph's order, and the widths the configuration states.
 * Unlike {@link GraphShape} nothing is refused here: a width the configuration does not state (an input that feeds a
 * vertex, a recurrent or convolutional layer, or a layer with an input preprocessor; an output that is not a
 * feed-forward layer) is -1 and left to the graph's layers.
 *
 * @param inputs  the graph's input names, in order.
 * @param widths  per input, the nIn of the feed-forward layers it feeds directly when they all are such and agree,
 *                else -1.
 * @param outputs the graph's output names, in order.
 * @param nOuts   per output, its layer's nOut when it is a feed-forward layer, else -1.
 */
record MultiGraphShape(List<String> inputs, long[] widths, List<String> outputs, long[] nOuts)
    implements Serializable
{
    static MultiGraphShape of(final ComputationGraphConfiguration conf)
    {
        final List<String> inputs = List.copyOf(conf.getNetworkInputs());
        final List<String> outputs = List.copyOf(conf.getNetworkOutputs());
        final long[] widths = inputs.stream().mapToLong(input -> width(conf, input)).toArray();
        final long[] nOuts = outputs.stream().mapToLong(output -> nOut(conf.getVertices().get(output))).toArray();
        return new MultiGraphShape(inputs, widths, outputs, nOuts);
    }

    /** For the job's "data:" line, e.g. "inputs [a: 4, b: ?], outputs [c: 3]" (? where the width is not stated). */
    String describe()
    {
        return "inputs " + named(inputs, widths) + ", outputs " + named(outputs, nOuts);
    }

    private static String named(final List<String> names, final long[] widths)
    {
        final List<String> parts = new ArrayList<>();
        for (int i = 0; i < names.size(); i++)
        {
            parts.add(names.get(i) + ": " + (widths[i] < 0 ? "?" : Long.toString(widths[i])));
        }
        return parts.toString();
    }

    private static long width(final ComputationGraphConfiguration conf, final String input)
    {
        final TreeSet<Long> widths = new TreeSet<>();
        for (final Map.Entry<String, List<String>> entry : conf.getVertexInputs().entrySet())
        {
            if (!entry.getValue().contains(input))
            {
                continue;
            }
            final GraphVertex vertex = conf.getVertices().get(entry.getKey());
            if (!(vertex instanceof LayerVertex layer) || layer.getPreProcessor() != null ||
                !(layer.getLayerConf().getLayer() instanceof FeedForwardLayer feedForward) ||
                !isDense(feedForward) || feedForward.getNIn() <= 0)
            {
                return -1;
            }
            widths.add(feedForward.getNIn());
        }
        return widths.size() == 1 ? widths.first() : -1;
    }

    private static long nOut(final GraphVertex vertex)
    {
        return vertex instanceof LayerVertex layer && layer.getLayerConf().getLayer() instanceof FeedForwardLayer
            feedForward && isDense(feedForward) && feedForward.getNOut() > 0 ? feedForward.getNOut() : -1;
    }

    /**
     * Layers whose nIn and nOut are the columns of a matrix input and output: not the recurrent and convolutional
     * ones (also FeedForwardLayers in DL4J), whose nIn is a channel count of rank 3 or 4 arrays.
     */
    private static boolean isDense(final FeedForwardLayer layer)
    {
        return layer instanceof DenseLayer || layer instanceof BaseOutputLayer && !(layer instanceof RnnOutputLayer);
    }
}
