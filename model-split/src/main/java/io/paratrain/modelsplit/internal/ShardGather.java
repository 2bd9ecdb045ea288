package io.paratrain.modelsplit.internal;

import io.paratrain.gradientsharing.Collective;
import io.paratrain.gradientsharing.exceptions.CollectiveException;
import io.paratrain.modelsplit.exceptions.ShardFailedException;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.List;

/**
 * Brings every rank's slices back to rank 0 as one ordinary DL4J network: per split parameter, one gather of the
 * values and one per updater state component (Adam 2), each placed by the parameter's {@link SliceLayout}; the
 * whole layers and the row-split layers' biases are copied on rank 0.
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
            for (final RankLayer.SplitParam param : layer.splitParams())
            {
                gatherParam(ring, layer.index(), param, network);
            }
            final List<INDArray> head = layer.headBiasItems();
            if (network != null && !head.isEmpty())
            {
                RankModel.assign(NetworkItems.of(network, layer.index(), "b", head.size()), head);
            }
        }
        if (network != null)
        {
            model.writeWholeLayers(network);
            network.setIterationCount(iteration);
            network.setEpochCount(epoch);
        }
        return network;
    }

    /**
     * A network of the configuration over a zero parameter vector that the gather then fills. Not {@code init()}:
     * that draws every parameter at random and first reseeds ND4J's random stream from the configuration's seed,
     * which would change whatever the caller draws from that stream next (a snapshot must leave training alone).
     */
    private static MultiLayerNetwork fresh(final MultiLayerConfiguration conf)
    {
        final MultiLayerConfiguration copy = conf.clone();
        long length = 0;
        for (final NeuralNetConfiguration layer : copy.getConfs())
        {
            length += layer.getLayer().initializer().numParams(layer);
        }
        final MultiLayerNetwork network = new MultiLayerNetwork(copy);
        network.init(Nd4j.zeros(conf.getDataType(), 1, length), false);
        network.getUpdater(true);
        return network;
    }

    private static void gatherParam(final Collective ring, final int layer, final RankLayer.SplitParam param,
                                    final MultiLayerNetwork network)
    {
        final int ranks = ring.worldSize();
        final int[] blockBytes = param.layout().blockBytes(ranks);
        long total = 0;
        for (int r = 0; r < ranks; r++)
        {
            total += param.layout().length(r);
        }
        final List<INDArray> targets = network == null ? null
            : NetworkItems.of(network, layer, param.param(), param.items().size());
        for (int item = 0; item < param.items().size(); item++)
        {
            final HostBytes.Target out = network == null ? null : HostBytes.receive(total);
            try
            {
                ring.gather(HostBytes.read(param.items().get(item)), out == null ? null : out.bytes(), blockBytes, 0);
            }
            catch (final CollectiveException ex)
            {
                throw new ShardFailedException("rank " + ring.rank() + ": gathering layer " + layer + " "
                    + param.param() + (item == 0 ? "" : " updater state " + (item - 1)) + " failed: "
                    + ex.getMessage(), ex);
            }
            if (targets != null)
            {
                param.layout().place(out.finish(), targets.get(item));
            }
        }
    }
}
