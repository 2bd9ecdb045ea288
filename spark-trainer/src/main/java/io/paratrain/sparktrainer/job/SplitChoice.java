package io.paratrain.sparktrainer.job;

import io.paratrain.modelsplit.SplitConfig;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;

import java.util.Set;
import java.util.TreeSet;

/** The job's choice of layers to split: the ones given with --split-layers, or the large dense/output layers. */
final class SplitChoice
{
    private SplitChoice()
    {
    }

    /**
     * --split-layers when given; else every {@link DenseLayer} or {@link OutputLayer} whose weight matrix
     * nIn x nOut has at least --split-threshold elements, or every such layer when none is that large (so a small
     * model is still split, which is what a user asking for model-split on it wants to see).
     */
    static SplitConfig of(final JobOptions options, final MultiLayerConfiguration conf)
    {
        final SplitConfig split = byColumns(options, conf);
        return options.splitPairing() ? split.withPairing() : split;
    }

    private static SplitConfig byColumns(final JobOptions options, final MultiLayerConfiguration conf)
    {
        if (options.splitLayers() != null)
        {
            return new SplitConfig(options.shards(), Set.copyOf(options.splitLayers()));
        }
        final Set<Integer> large = new TreeSet<>();
        final Set<Integer> splittable = new TreeSet<>();
        for (int index = 0; index < conf.getConfs().size(); index++)
        {
            final Layer layer = conf.getConf(index).getLayer();
            if (layer instanceof DenseLayer || layer.getClass() == OutputLayer.class)
            {
                final FeedForwardLayer ff = (FeedForwardLayer)layer;
                splittable.add(index);
                if (ff.getNIn() * ff.getNOut() >= options.splitThreshold())
                {
                    large.add(index);
                }
            }
        }
        return new SplitConfig(options.shards(), large.isEmpty() ? splittable : large);
    }
}
