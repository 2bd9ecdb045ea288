package io.paratrain.modelsplit.internal;

import io.paratrain.modelsplit.LayerRole;
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
 * One layer as one rank of a split ring sees it. A whole layer lives on rank 0, the coordinator, and the other
 * ranks skip it. A split layer has shard r on rank r, in one of three roles:
 * <pre>
 *   COLUMNS (columns {@code ranges[r]} of W and b):
 *     forward:  X (B x nIn) broadcast from rank 0;  H_r = act(X W_r + b_r)  (Z_r for the output layer)
 *               gather H_r (B x w_r, row-major) to rank 0, which stacks them by columns: H = [H_0 ... H_{N-1}]
 *     backward: dH (B x nOut) broadcast from rank 0; rank r takes its columns dH_r, dZ_r = act'(Z_r) (.) dH_r,
 *               dW_r = X^T dZ_r, db_r = sum_rows dZ_r,  dX_r = dZ_r W_r^T;  reduce: dX = sum_r dX_r on rank 0
 *   COLUMNS_PAIRED (first of a Megatron pair): as COLUMNS, but H_r stays on rank r (no gather) and dH_r comes
 *     from the next layer's shard r on the same rank (no broadcast).
 *   ROWS (second of a pair, rows {@code ranges[r]} of W; b on rank 0): see {@link RowShard}
 *     forward:  P_r = H_r W_r, sum-reduce to rank 0: Z = sum_r P_r + b, H = act(Z)
 *     backward: rank 0: dZ = act'(Z) (.) dH, broadcast dZ; rank r: dW_r = H_r^T dZ, dH_r = dZ W_r^T (local)
 *   update:   every rank updates its own slices with DL4J's updater
 * </pre>
 * Broadcasting the whole dH is the simple choice: on the ring 0 -> 1 -> ... -> N-1 every link carries all
 * B nOut floats, (N-1) B nOut in all, where a scatter would move only sum_r r B w_r (rank r is r links away),
 * about half for equal widths, at the price of one more collective primitive.
 */
public final class RankLayer
{
    /** A parameter split across the ranks: this rank's items (values, then updater state) and how they are cut. */
    public record SplitParam(String param, List<INDArray> items, SliceLayout layout)
    {
    }

    private final int index;
    private final boolean output;
    private final long nIn;
    private final long nOut;
    private final List<ColumnRange> ranges;
    private final LayerRole role;
    private final ColumnShard shard;
    private final RowShard rowShard;
    private final int rank;
    private final int[] blockBytes;

    /**
     * @param ranges   every rank's columns (ROWS: rows) of a split layer, one range per rank; null for a whole layer.
     * @param shard    this rank's column shard (COLUMNS*), or the whole layer on rank 0 (WHOLE), else null.
     * @param rowShard this rank's row shard (ROWS), else null.
     */
    RankLayer(final int index, final boolean output, final long nIn, final long nOut, final List<ColumnRange> ranges,
              final LayerRole role, final ColumnShard shard, final RowShard rowShard, final int rank)
    {
        this.index = index;
        this.output = output;
        this.nIn = nIn;
        this.nOut = nOut;
        this.ranges = ranges;
        this.role = role;
        this.shard = shard;
        this.rowShard = rowShard;
        this.rank = rank;
        this.blockBytes = ranges == null ? null : new int[ranges.size()];
    }

    public boolean split()
    {
        return role != LayerRole.WHOLE;
    }

    public LayerRole role()
    {
        return role;
    }

    public int index()
    {
        return index;
    }

    /** This rank's column shard, or the whole layer on rank 0, or null. */
    public ColumnShard shard()
    {
        return shard;
    }

    /** This rank's row shard (ROWS), or null. */
    public RowShard rowShard()
    {
        return rowShard;
    }

    public long nIn()
    {
        return nIn;
    }

    public long nOut()
    {
        return nOut;
    }

    public List<ColumnRange> ranges()
    {
        return ranges;
    }

    /** The parameters of a split layer that are cut across the ranks (empty for a whole layer). */
    public List<SplitParam> splitParams()
    {
        final List<SplitParam> params = new ArrayList<>();
        switch (role)
        {
            case WHOLE ->
            {
            }
            case ROWS -> params.add(new SplitParam("W", rowShard.weightItems(), new SliceLayout.Rows(ranges, nIn, nOut)));
            default ->
            {
                params.add(new SplitParam("W", shard.items("W"), new SliceLayout.Columns(ranges, nIn)));
                if (shard.bias() != null)
                {
                    params.add(new SplitParam("b", shard.items("b"), new SliceLayout.Columns(ranges, 1)));
                }
            }
        }
        return params;
    }

    /** Rank 0 of a ROWS layer: the bias, held whole (values then updater state); empty otherwise. */
    public List<INDArray> headBiasItems()
    {
        return rowShard == null ? List.of() : rowShard.biasItems();
    }

    /**
     * @param x rank 0: the layer's input (B x nIn), or for ROWS every rank's H_r; other ranks: ignored.
     * @return rank 0: H (or Z for the output layer), B x nOut; COLUMNS_PAIRED: H_r on every rank; else null.
     */
    public INDArray forward(final Collective ring, final INDArray x, final int batch, final String where)
    {
        switch (role)
        {
            case WHOLE ->
            {
                return rank == 0 ? compute(x) : null;
            }
            case ROWS ->
            {
                final INDArray partial = HostBytes.cOrder(rowShard.partial(x));
                run(where, "forward reduce of Z", () -> ring.reduce(partial, 0));
                return rank == 0 ? rowShard.finishForward(partial, output) : null;
            }
            default ->
            {
                final INDArray input = broadcastFromRoot(ring, x, batch, nIn, where, "forward broadcast of X");
                final INDArray mine = HostBytes.cOrder(compute(input));
                if (role == LayerRole.COLUMNS_PAIRED)
                {
                    return mine;
                }
                for (int r = 0; r < ranges.size(); r++)
                {
                    blockBytes[r] = Math.multiplyExact(batch, Math.toIntExact(ranges.get(r).width() * Float.BYTES));
                }
                final HostBytes.Target gathered = rank == 0 ? HostBytes.receive(batch * nOut) : null;
                run(where, "forward gather of H", () -> ring.gather(HostBytes.read(mine), gathered == null ? null
                    : gathered.bytes(), blockBytes, 0));
                return rank == 0 ? stack(gathered.finish(), batch) : null;
            }
        }
    }

    /**
     * @param gradient rank 0: dH (dZ for the output layer), B x nOut; COLUMNS_PAIRED: dH_r on every rank.
     * @return rank 0: dX = sum_r dX_r when wanted, else null; ROWS: dH_r on every rank; other ranks: null.
     */
    public INDArray backward(final Collective ring, final INDArray gradient, final int batch,
                             final boolean wantInputGradient, final String where)
    {
        switch (role)
        {
            case WHOLE ->
            {
                return rank == 0 ? backwardLocal(gradient, wantInputGradient) : null;
            }
            case ROWS ->
            {
                final INDArray dz = rank == 0 ? HostBytes.cOrder(rowShard.preActivationGradient(gradient, output))
                    : null;
                final INDArray full = broadcastFromRoot(ring, dz, batch, nOut, where, "backward broadcast of dZ");
                return rowShard.backward(full);
            }
            default ->
            {
                final INDArray mine = role == LayerRole.COLUMNS_PAIRED ? gradient
                    : ColumnBlocks.columns(broadcastFromRoot(ring, gradient, batch, nOut, where,
                        "backward broadcast of dH"), shard.range());
                final INDArray partial = backwardLocal(mine, wantInputGradient);
                if (!wantInputGradient)
                {
                    return null;
                }
                final INDArray sum = HostBytes.cOrder(partial);
                run(where, "backward reduce of dX", () -> ring.reduce(sum, 0));
                return rank == 0 ? sum : null;
            }
        }
    }

    /** Applies this rank's updater step to its slices (nothing when it holds no part of the layer). */
    public void update(final int batch, final int iteration, final int epoch)
    {
        if (shard != null)
        {
            shard.update(batch, iteration, epoch);
        }
        if (rowShard != null)
        {
            rowShard.update(batch, iteration, epoch);
        }
    }

    /** Rank 0's {@code value} (B x columns) reaches every rank; the others receive into a new array. */
    private INDArray broadcastFromRoot(final Collective ring, final INDArray value, final int batch,
                                       final long columns, final String where, final String phase)
    {
        final INDArray array = rank == 0 ? HostBytes.cOrder(value)
            : Nd4j.createUninitialized(DataType.FLOAT, batch, columns);
        run(where, phase, () -> ring.broadcast(array, 0));
        return array;
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
