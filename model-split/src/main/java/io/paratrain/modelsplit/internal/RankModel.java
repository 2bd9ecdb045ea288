package io.paratrain.modelsplit.internal;

import io.paratrain.modelsplit.SplitConfig;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.ArrayList;
import java.util.List;

/**
 * The part of a network one rank of a split ring holds: shard r of every split layer, and on rank 0 also every
 * whole layer. Built from a network whose parameters and updater state every rank already agrees on; a rank
 * copies only its columns (and their updater state) and keeps no reference to the network.
 */
public final class RankModel
{
    private final List<RankLayer> layers;

    private RankModel(final List<RankLayer> layers)
    {
        this.layers = layers;
    }

    public static RankModel of(final MultiLayerNetwork network, final SplitConfig split, final int rank)
    {
        final MultiLayerConfiguration conf = network.getLayerWiseConfigurations();
        final boolean divideByMinibatch = network.conf().isMiniBatch();
        final int count = network.getnLayers();
        final List<RankLayer> layers = new ArrayList<>(count);
        final List<SplitDenseLayer> held = new ArrayList<>(count);
        for (int i = 0; i < count; i++)
        {
            final BaseLayer layerConf = (BaseLayer)conf.getConf(i).getLayer();
            final INDArray weights = network.getLayer(i).getParam("W");
            final INDArray bias = network.getLayer(i).paramTable().get("b");
            final String name = "layer " + i;
            final boolean isSplit = split.splitLayers().contains(i);
            final List<ColumnRange> ranges = isSplit ? ColumnRange.split(weights.columns(), split.shards(), name) : null;
            final ColumnShard shard;
            if (isSplit)
            {
                shard = new ColumnShard(name + " shard " + rank + "/" + split.shards(), layerConf, weights, bias,
                    ranges.get(rank), divideByMinibatch);
            }
            else
            {
                shard = rank == 0 ? new ColumnShard(name, layerConf, weights, bias,
                    new ColumnRange(0, weights.columns()), divideByMinibatch) : null;
            }
            layers.add(new RankLayer(i, i == count - 1, weights.rows(), weights.columns(), ranges, shard, rank));
            if (shard != null)
            {
                held.add(SplitDenseLayer.ofShards(i, List.of(shard)));
            }
        }
        NetworkTransfer.scatterUpdaterState(network, held);
        return new RankModel(List.copyOf(layers));
    }

    public List<RankLayer> layers()
    {
        return layers;
    }

    /** On rank 0: the whole layers, for {@link NetworkTransfer#gather}. */
    List<SplitDenseLayer> wholeLayers()
    {
        final List<SplitDenseLayer> whole = new ArrayList<>();
        for (final RankLayer layer : layers)
        {
            if (!layer.split() && layer.shard() != null)
            {
                whole.add(SplitDenseLayer.ofShards(layer.index(), List.of(layer.shard())));
            }
        }
        return whole;
    }

}
