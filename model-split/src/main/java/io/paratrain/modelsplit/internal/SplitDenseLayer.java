package io.paratrain.modelsplit.internal;

import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.ArrayList;
import java.util.List;

/**
 * One dense or output layer as N column shards, all in this JVM; N = 1 is the whole layer computed the same way.
 * The coordinator's view of a split layer:
 * <pre>
 *   forward:  broadcast X, H = [H_1 ... H_N]          (gather by columns)
 *   backward: scatter dH into column blocks dH_i, dX = sum_i dX_i   (sum-reduce)
 * </pre>
 */
public final class SplitDenseLayer
{
    private final int index;
    private final List<ColumnShard> shards;

    private SplitDenseLayer(final int index, final List<ColumnShard> shards)
    {
        this.index = index;
        this.shards = shards;
    }

    /**
     * Cuts a layer's parameters into {@code shardCount} column shards.
     *
     * @param fullBias null for a layer without bias.
     */
    public static SplitDenseLayer of(final int index, final BaseLayer layer, final INDArray fullWeights,
                                     final INDArray fullBias, final int shardCount, final boolean divideByMinibatch)
    {
        final String given = layer.getLayerName();
        final String layerName = "layer " + index
            + (given == null || given.equals("layer" + index) ? "" : " (" + given + ")");
        final List<ColumnRange> ranges = ColumnRange.split(fullWeights.columns(), shardCount, layerName);
        final List<ColumnShard> shards = new ArrayList<>(shardCount);
        for (int i = 0; i < shardCount; i++)
        {
            shards.add(new ColumnShard(layerName + " shard " + i + "/" + shardCount, layer, fullWeights, fullBias,
                ranges.get(i), divideByMinibatch));
        }
        return new SplitDenseLayer(index, List.copyOf(shards));
    }

    /** H = [act(X W_1 + b_1) ... act(X W_N + b_N)]. */
    public INDArray forward(final INDArray x)
    {
        final List<INDArray> blocks = new ArrayList<>(shards.size());
        for (final ColumnShard shard : shards)
        {
            blocks.add(shard.forward(x));
        }
        return ColumnBlocks.stackColumns(blocks);
    }

    /** Z = [X W_1 + b_1 ... X W_N + b_N], for an output layer whose loss needs the full row. */
    public INDArray preActivation(final INDArray x)
    {
        final List<INDArray> blocks = new ArrayList<>(shards.size());
        for (final ColumnShard shard : shards)
        {
            blocks.add(shard.preActivation(x));
        }
        return ColumnBlocks.stackColumns(blocks);
    }

    /** dX = sum_i dZ_i W_i^T with dZ_i = act'(Z_i) (.) dH_i; null when not wanted. */
    public INDArray backward(final INDArray dh, final boolean wantInputGradient)
    {
        final List<INDArray> partials = new ArrayList<>(shards.size());
        for (final ColumnShard shard : shards)
        {
            partials.add(shard.backward(ColumnBlocks.columns(dh, shard.range()), wantInputGradient));
        }
        return wantInputGradient ? ColumnBlocks.sumPartials(partials) : null;
    }

    /** dX = sum_i dZ_i W_i^T for a given full dZ (output layer); null when not wanted. */
    public INDArray backwardFromPreActivation(final INDArray dz, final boolean wantInputGradient)
    {
        final List<INDArray> partials = new ArrayList<>(shards.size());
        for (final ColumnShard shard : shards)
        {
            partials.add(shard.backwardFromPreActivation(ColumnBlocks.columns(dz, shard.range()), wantInputGradient));
        }
        return wantInputGradient ? ColumnBlocks.sumPartials(partials) : null;
    }

    /** Every shard applies its own updater step to its own slice. */
    public void update(final int batchSize, final int iteration, final int epoch)
    {
        for (final ColumnShard shard : shards)
        {
            shard.update(batchSize, iteration, epoch);
        }
    }

    public int index()
    {
        return index;
    }

    public List<ColumnShard> shards()
    {
        return shards;
    }
}
