package io.paratrain.modelsplit.internal;

import io.paratrain.modelsplit.SliceUpdater;
import io.paratrain.modelsplit.exceptions.UnsupportedModelException;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.util.List;

/**
 * Moves parameters and updater state between an ordinary DL4J network and the shards of its layers: scatter at the
 * start, gather at the end. Shard i of a layer owns columns [c0, c1) of W, i.e. elements [c0 nIn, c1 nIn) of the
 * layer's column-major flat W and [c0, c1) of b, in every state component too.
 */
public final class NetworkTransfer
{
    private static final String[] PARAMS = {"W", "b"};

    private NetworkTransfer()
    {
    }

    /** Copies each shard's W_i, b_i and updater state into {@code network} (whose layers have the same shapes). */
    public static void gather(final List<SplitDenseLayer> layers, final MultiLayerNetwork network)
    {
        for (final SplitDenseLayer layer : layers)
        {
            final INDArray fullWeights = network.getLayer(layer.index()).getParam("W");
            final INDArray fullBias = network.getLayer(layer.index()).paramTable().get("b");
            for (final ColumnShard shard : layer.shards())
            {
                final ColumnRange r = shard.range();
                fullWeights.get(NDArrayIndex.all(), NDArrayIndex.interval(r.start(), r.end())).assign(shard.weights());
                if (fullBias != null)
                {
                    fullBias.get(NDArrayIndex.interval(0, 0, true), NDArrayIndex.interval(r.start(), r.end()))
                        .assign(shard.bias());
                }
            }
            transferState(layer, network, true);
        }
    }

    /** Copies the network's updater state, if it has any yet, into the shards (fresh shards start from zero). */
    public static void scatterUpdaterState(final MultiLayerNetwork network, final List<SplitDenseLayer> layers)
    {
        for (final SplitDenseLayer layer : layers)
        {
            transferState(layer, network, false);
        }
    }

    private static void transferState(final SplitDenseLayer layer, final MultiLayerNetwork network,
                                      final boolean toNetwork)
    {
        for (final String param : PARAMS)
        {
            if (!network.getLayer(layer.index()).paramTable().containsKey(param))
            {
                continue;
            }
            final List<INDArray> full = UpdaterStateLayout.components(network, layer.index(), param);
            for (final ColumnShard shard : layer.shards())
            {
                final SliceUpdater updater = shard.updater(param);
                if (full.isEmpty() && updater.stateComponents() == 0)
                {
                    continue;
                }
                if (full.isEmpty() && !toNetwork)
                {
                    continue; // the network has not built its updater: both start from DL4J's initial state
                }
                if (full.size() != updater.stateComponents())
                {
                    throw new UnsupportedModelException(shard.name() + " " + param + ": the network's updater keeps "
                        + full.size() + " state components, the shard's " + updater.stateComponents());
                }
                final long[] interval = shard.flatInterval(param);
                for (int c = 0; c < full.size(); c++)
                {
                    final INDArray fullPart = full.get(c).get(NDArrayIndex.interval(0, 0, true),
                        NDArrayIndex.interval(interval[0], interval[1]));
                    if (toNetwork)
                    {
                        fullPart.assign(updater.stateComponent(c));
                    }
                    else
                    {
                        updater.stateComponent(c).assign(fullPart);
                    }
                }
            }
        }
    }
}
