package io.paratrain.modelsplit.internal;

import io.paratrain.modelsplit.LayerRole;
import io.paratrain.modelsplit.ModelSupport;
import io.paratrain.modelsplit.SplitConfig;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.ArrayList;
import java.util.List;

/**
 * The part of a network one rank of a split ring holds: shard r of every split layer, and on rank 0 also every
 * whole layer (and the bias of every row-split layer). {@link #allocate} builds it from the configuration alone,
 * with zeros, so that a rank never allocates more than its slices; the values then come from rank 0's network
 * ({@link SliceScatter}) or from the layers' weight initialisation ({@link #initialise}).
 */
public final class RankModel
{
    private static final long SEED_STRIDE = 1_000_003L;

    private final List<RankLayer> layers;

    private RankModel(final List<RankLayer> layers)
    {
        this.layers = layers;
    }

    /** Rank {@code rank}'s slices of a network of configuration {@code conf}, all zeros (updater state: initial). */
    public static RankModel allocate(final MultiLayerConfiguration conf, final SplitConfig split, final int rank)
    {
        final boolean divideByMinibatch = conf.getConf(0).isMiniBatch();
        final DataType type = conf.getDataType();
        final int count = conf.getConfs().size();
        final List<RankLayer> layers = new ArrayList<>(count);
        for (int i = 0; i < count; i++)
        {
            final BaseLayer layerConf = (BaseLayer)conf.getConf(i).getLayer();
            final long nIn = ((FeedForwardLayer)layerConf).getNIn();
            final long nOut = ((FeedForwardLayer)layerConf).getNOut();
            final boolean hasBias = ModelSupport.hasBias(layerConf);
            final boolean last = i == count - 1;
            final String name = "layer " + i;
            if (!split.splitLayers().contains(i))
            {
                final ColumnShard whole = rank == 0 ? new ColumnShard(name, layerConf, nIn, new ColumnRange(0, nOut),
                    hasBias, type, divideByMinibatch) : null;
                layers.add(new RankLayer(i, last, nIn, nOut, null, LayerRole.WHOLE, whole, null, rank));
            }
            else if (split.splitByRows(i))
            {
                final List<ColumnRange> ranges = ColumnRange.split(nIn, split.shards(), name + " (rows)");
                final RowShard shard = new RowShard(name + " row shard " + rank + "/" + split.shards(), layerConf,
                    ranges.get(rank), nOut, rank == 0, hasBias, type, divideByMinibatch);
                layers.add(new RankLayer(i, last, nIn, nOut, ranges, LayerRole.ROWS, null, shard, rank));
            }
            else
            {
                final List<ColumnRange> ranges = ColumnRange.split(nOut, split.shards(), name);
                final ColumnShard shard = new ColumnShard(name + " shard " + rank + "/" + split.shards(), layerConf,
                    nIn, ranges.get(rank), hasBias, type, divideByMinibatch);
                layers.add(new RankLayer(i, last, nIn, nOut, ranges, split.pairedWithNext(i)
                    ? LayerRole.COLUMNS_PAIRED : LayerRole.COLUMNS, shard, null, rank));
            }
        }
        return new RankModel(List.copyOf(layers));
    }

    /**
     * Fills this rank's slices from each layer's own weight and bias initialisation, with the full layer's fan-in
     * and fan-out and a random stream of its own per (configuration seed, layer, rank): no rank ever holds the
     * whole network. The values differ from what {@code MultiLayerNetwork.init()} draws for the same seed.
     */
    public void initialise(final MultiLayerConfiguration conf, final int rank)
    {
        final long seed = conf.getConf(0).getSeed();
        for (final RankLayer layer : layers)
        {
            final BaseLayer layerConf = (BaseLayer)conf.getConf(layer.index()).getLayer();
            Nd4j.getRandom().setSeed(seed + SEED_STRIDE * (layer.index() + 1) + rank);
            if (layer.rowShard() != null)
            {
                final RowShard shard = layer.rowShard();
                layerConf.getWeightInitFn().init(layer.nIn(), layer.nOut(),
                    new long[] {shard.rows().width(), layer.nOut()}, 'c', shard.weightRow());
                fillBias(shard.bias(), layerConf);
            }
            else if (layer.shard() != null)
            {
                final ColumnShard shard = layer.shard();
                layerConf.getWeightInitFn().init(layer.nIn(), layer.nOut(),
                    new long[] {layer.nIn(), shard.range().width()}, 'f', shard.weightRow());
                fillBias(shard.bias(), layerConf);
            }
        }
    }

    private static void fillBias(final INDArray bias, final BaseLayer layerConf)
    {
        if (bias != null)
        {
            bias.assign(layerConf.getBiasInit());
        }
    }

    /** Rank 0: copies the whole layers (values and updater state) from {@code network}. */
    public void copyWholeLayers(final MultiLayerNetwork network)
    {
        transferWholeLayers(network, false);
    }

    /** Rank 0: writes the whole layers (values and updater state) into {@code network}. */
    void writeWholeLayers(final MultiLayerNetwork network)
    {
        transferWholeLayers(network, true);
    }

    /** Assigns every whole layer's values and updater state between this rank and {@code network}. */
    private void transferWholeLayers(final MultiLayerNetwork network, final boolean intoNetwork)
    {
        for (final RankLayer layer : layers)
        {
            if (layer.split() || layer.shard() == null)
            {
                continue;
            }
            for (final String param : ModelSupport.PARAMS)
            {
                final List<INDArray> mine = layer.shard().items(param);
                if (!mine.isEmpty())
                {
                    final List<INDArray> theirs = NetworkItems.of(network, layer.index(), param, mine.size());
                    if (intoNetwork)
                    {
                        assign(theirs, mine);
                    }
                    else
                    {
                        assign(mine, theirs);
                    }
                }
            }
        }
    }

    static void assign(final List<INDArray> targets, final List<INDArray> sources)
    {
        for (int i = 0; i < targets.size(); i++)
        {
            targets.get(i).assign(sources.get(i).reshape(targets.get(i).shape()));
        }
    }

    public List<RankLayer> layers()
    {
        return layers;
    }

    /** Floats of parameters and updater state this rank holds: what its slices cost in memory. */
    public long heldFloats()
    {
        long floats = 0;
        for (final RankLayer layer : layers)
        {
            for (final RankLayer.SplitParam param : layer.splitParams())
            {
                floats += param.items().stream().mapToLong(INDArray::length).sum();
            }
            floats += layer.headBiasItems().stream().mapToLong(INDArray::length).sum();
            if (!layer.split() && layer.shard() != null)
            {
                for (final String param : ModelSupport.PARAMS)
                {
                    floats += layer.shard().items(param).stream().mapToLong(INDArray::length).sum();
                }
            }
        }
        return floats;
    }
}
