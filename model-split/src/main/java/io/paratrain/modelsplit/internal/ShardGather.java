package io.paratrain.modelsplit.internal;

import io.paratrain.gradientsharing.Collective;
import io.paratrain.gradientsharing.exceptions.CollectiveException;
import io.paratrain.modelsplit.exceptions.ShardFailedException;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.ArrayList;
import java.util.List;

/**
 * Brings every rank's slices back to rank 0 as one ordinary DL4J network. Shard r of a layer owns columns
 * [c_r, c_{r+1}) of W, i.e. elements [c_r nIn, c_{r+1} nIn) of the layer's column-major flat W, and [c_r, c_{r+1})
 * of b, in every updater state component too; so gathering the flat slices in rank order yields the full flat
 * vectors directly. Per split layer and parameter: one gather of the values, then one per state component (Adam 2).
 */
public final class ShardGather
{
    private ShardGather()
    {
    }

    /**
     * Every rank calls this; rank 0 passes the configuration and gets the network, the others pass null and get null.
     */
    public static MultiLayerNetwork gather(final Collective ring, final RankModel model,
                                           final MultiLayerConfiguration conf, final int iteration, final int epoch)
    {
        final MultiLayerNetwork network = ring.rank() == 0 ? fresh(conf) : null;
        for (final RankLayer layer : model.layers())
        {
            if (!layer.split())
            {
                continue;
            }
            gatherParam(ring, layer, "W", network);
            if (layer.shard().bias() != null)
            {
                gatherParam(ring, layer, "b", network);
            }
        }
        if (network != null)
        {
            NetworkTransfer.gather(model.wholeLayers(), network);
            network.setIterationCount(iteration);
            network.setEpochCount(epoch);
        }
        return network;
    }

    private static MultiLayerNetwork fresh(final MultiLayerConfiguration conf)
    {
        final MultiLayerNetwork network = new MultiLayerNetwork(conf.clone());
        network.init();
        network.getUpdater(true);
        return network;
    }

    private static void gatherParam(final Collective ring, final RankLayer layer, final String param,
                                    final MultiLayerNetwork network)
    {
        final ColumnShard shard = layer.shard();
        final long rowsPerColumn = "W".equals(param) ? layer.nIn() : 1;
        final int[] blockBytes = new int[layer.ranges().size()];
        long total = 0;
        for (int r = 0; r < blockBytes.length; r++)
        {
            blockBytes[r] = Math.toIntExact(layer.ranges().get(r).width() * rowsPerColumn * Float.BYTES);
            total += layer.ranges().get(r).width() * rowsPerColumn;
        }
        final List<INDArray> mine = new ArrayList<>();
        // W_r is nIn x w_r; its column-major flattening is the shard's slice of the layer's flat W.
        mine.add("W".equals(param) ? Nd4j.toFlattened('f', shard.weights()) : shard.bias());
        final SliceUpdater updater = shard.updater(param);
        for (int c = 0; c < updater.stateComponents(); c++)
        {
            mine.add(updater.stateComponent(c));
        }
        final List<INDArray> targets = network == null ? null : targets(network, layer.index(), param);
        for (int item = 0; item < mine.size(); item++)
        {
            final HostBytes.Target out = network == null ? null : HostBytes.receive(total);
            try
            {
                ring.gather(HostBytes.read(mine.get(item)), out == null ? null : out.bytes(), blockBytes, 0);
            }
            catch (final CollectiveException ex)
            {
                throw new ShardFailedException("rank " + ring.rank() + ": gathering layer " + layer.index() + " "
                    + param + (item == 0 ? "" : " updater state " + (item - 1)) + " failed: " + ex.getMessage(), ex);
            }
            if (targets != null)
            {
                final INDArray flat = out.finish();
                final INDArray target = targets.get(item);
                target.assign(target.rank() == 2 && target.rows() > 1
                    ? flat.reshape('f', target.rows(), target.columns()) : flat.reshape(target.shape()));
            }
        }
    }

    /** The network's param (W as nIn x nOut, b as 1 x nOut), then its updater state components ([1, n] each). */
    private static List<INDArray> targets(final MultiLayerNetwork network, final int index, final String param)
    {
        final List<INDArray> targets = new ArrayList<>();
        targets.add(network.getLayer(index).getParam(param));
        targets.addAll(UpdaterStateLayout.components(network, index, param));
        return targets;
    }
}
