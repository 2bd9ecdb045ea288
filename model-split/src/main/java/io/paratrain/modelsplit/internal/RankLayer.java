package io.paratrain.modelsplit.internal;

import io.paratrain.gradientsharing.Collective;
import io.paratrain.gradientsharing.exceptions.CollectiveException;
import io.paratrain.modelsplit.exceptions.ShardFailedException;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.util.ArrayList;
import java.util.List;

/**
 * One layer as one rank of a split ring sees it. A split layer has shard r (columns {@code ranges[r]}) on every
 * rank r; a whole layer lives on rank 0, the coordinator, and the other ranks skip it. For a split layer:
 * <pre>
 *   forward:  X (B x nIn) broadcast from rank 0;  H_r = act(X W_r + b_r)  (Z_r for the output layer)
 *             gather H_r (B x w_r, row-major) to rank 0, which stacks them by columns: H = [H_0 ... H_{N-1}]
 *   backward: dH (B x nOut) broadcast from rank 0; rank r takes its columns dH_r, dZ_r = act'(Z_r) (.) dH_r,
 *             dW_r = X^T dZ_r, db_r = sum_rows dZ_r,  dX_r = dZ_r W_r^T;  reduce: dX = sum_r dX_r on rank 0
 *   update:   every rank updates its own slice with DL4J's updater
 * </pre>
 * Broadcasting the whole dH is the simple choice: on the ring 0 -> 1 -> ... -> N-1 every link carries all
 * B nOut floats, (N-1) B nOut in all, where a scatter would move only sum_r r B w_r (rank r is r links away),
 * about half for equal widths, at the price of one more collective primitive.
 */
public final class RankLayer
{
    private final int index;
    private final boolean output;
    private final long nIn;
    private final long nOut;
    private final List<ColumnRange> ranges;
    private final ColumnShard shard;
    private final int rank;
    private final int[] blockBytes;

    /**
     * @param ranges every rank's columns (one range per rank) for a split layer; null for a whole layer.
     * @param shard  this rank's shard: its columns of a split layer, the whole layer on rank 0, else null.
     */
    RankLayer(final int index, final boolean output, final long nIn, final long nOut, final List<ColumnRange> ranges,
              final ColumnShard shard, final int rank)
    {
        this.index = index;
        this.output = output;
        this.nIn = nIn;
        this.nOut = nOut;
        this.ranges = ranges;
        this.shard = shard;
        this.rank = rank;
        this.blockBytes = ranges == null ? null : new int[ranges.size()];
    }

    public boolean split()
    {
        return ranges != null;
    }

    public int index()
    {
        return index;
    }

    /** This rank's shard, or null when this rank holds no part of the layer. */
    public ColumnShard shard()
    {
        return shard;
    }

    public long nIn()
    {
        return nIn;
    }

    public List<ColumnRange> ranges()
    {
        return ranges;
    }

    /**
     * @param x rank 0: the layer's input (B x nIn); other ranks: ignored.
     * @return rank 0: H (or Z for the output layer), B x nOut; other ranks: null.
     */
    public INDArray forward(final Collective ring, final INDArray x, final int batch, final String where)
    {
        if (!split())
        {
            return rank == 0 ? compute(x) : null;
        }
        final INDArray input = rank == 0 ? HostBytes.cOrder(x) : Nd4j.createUninitialized(DataType.FLOAT, batch, nIn);
        run(where, "forward broadcast of X", () -> ring.broadcast(input, 0));
        final INDArray mine = HostBytes.cOrder(compute(input));
        for (int r = 0; r < ranges.size(); r++)
        {
            blockBytes[r] = Math.multiplyExact(batch, Math.toIntExact(ranges.get(r).width() * Float.BYTES));
        }
        final HostBytes.Target gathered = rank == 0 ? HostBytes.receive(batch * nOut) : null;
        run(where, "forward gather of H", () -> ring.gather(HostBytes.read(mine), gathered == null ? null
            : gathered.bytes(), blockBytes, 0));
        return rank == 0 ? stack(gathered.finish(), batch) : null;
    }

    /**
     * @param gradient rank 0: dH (dZ for the output layer), B x nOut; other ranks: ignored.
     * @return rank 0: dX = sum_r dX_r when wanted, else null; other ranks: null.
     */
    public INDArray backward(final Collective ring, final INDArray gradient, final int batch,
                             final boolean wantInputGradient, final String where)
    {
        if (!split())
        {
            return rank == 0 ? backwardLocal(gradient, wantInputGradient) : null;
        }
        final INDArray full = rank == 0 ? gradient : Nd4j.createUninitialized(DataType.FLOAT, batch, nOut);
        run(where, "backward broadcast of dH", () -> ring.broadcast(full, 0));
        final INDArray partial = backwardLocal(ColumnBlocks.columns(full, shard.range()), wantInputGradient);
        if (!wantInputGradient)
        {
            return null;
        }
        final INDArray sum = HostBytes.cOrder(partial);
        run(where, "backward reduce of dX", () -> ring.reduce(sum, 0));
        return rank == 0 ? sum : null;
    }

    /** Applies this rank's updater step to its slice (nothing when it holds no part of the layer). */
    public void update(final int batch, final int iteration, final int epoch)
    {
        if (shard != null)
        {
            shard.update(batch, iteration, epoch);
        }
    }

    private INDArray compute(final INDArray x)
    {
        return output ? shard.preActivation(x) : shard.forward(x);
    }

    private INDArray backwardLocal(final INDArray gradient, final boolean wantInputGradient)
    {
        return output ? shard.backwardFromPreActivation(gradient, wantInputGradient)
            : shard.backward(gradient, wantInputGradient);
    }

    /** The gathered vector holds block r (B x w_r, row-major) after blocks 0..r-1; H places them side by side. */
    private INDArray stack(final INDArray gathered, final int batch)
    {
        final List<INDArray> blocks = new ArrayList<>(ranges.size());
        long offset = 0;
        for (final ColumnRange range : ranges)
        {
            final long length = batch * range.width();
            blocks.add(gathered.get(NDArrayIndex.interval(offset, offset + length))
                .reshape('c', batch, range.width()));
            offset += length;
        }
        return ColumnBlocks.stackColumns(blocks);
    }

    private void run(final String where, final String phase, final Runnable operation)
    {
        try
        {
            operation.run();
        }
        catch (final CollectiveException ex)
        {
            throw new ShardFailedException(where + ", layer " + index + " " + phase + " failed: " + ex.getMessage(),
                ex);
        }
    }
}
