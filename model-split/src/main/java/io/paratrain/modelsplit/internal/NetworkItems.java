package io.paratrain.modelsplit.internal;

import io.paratrain.modelsplit.exceptions.UnsupportedModelException;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.util.ArrayList;
import java.util.List;

/**
 * A DL4J network's flat views of one parameter of one dense/output layer: the values ([1, n]: W column-major,
 * then b, as DL4J lays out a layer's parameters) followed by the k updater state components of that parameter.
 * The counterpart of a shard's items ({@link ColumnShard#items}, {@link RowShard#weightItems}).
 */
final class NetworkItems
{
    private NetworkItems()
    {
    }

    /**
     * @param expected the number of items the shard holds (1 + its updater's state components), checked.
     */
    static List<INDArray> of(final MultiLayerNetwork network, final int layer, final String param, final int expected)
    {
        final INDArray weights = network.getLayer(layer).getParam("W");
        final long weightLength = weights.length();
        final long from = "W".equals(param) ? 0 : weightLength;
        final long to = "W".equals(param) ? weightLength : weightLength + weights.columns();
        final List<INDArray> items = new ArrayList<>();
        items.add(network.getLayer(layer).params().get(NDArrayIndex.interval(0, 0, true),
            NDArrayIndex.interval(from, to)));
        items.addAll(UpdaterStateLayout.components(network, layer, param));
        if (items.size() != expected)
        {
            throw new UnsupportedModelException("layer " + layer + " " + param + ": the network's updater keeps "
                + (items.size() - 1) + " state components, the shard's " + (expected - 1));
        }
        return items;
    }
}
