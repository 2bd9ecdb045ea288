package io.paratrain.modelsplit.internal;

import io.paratrain.modelsplit.exceptions.SplitInputException;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.util.Arrays;
import java.util.List;

/**
 * The two collectives of a column split, done in memory: gather (H = [H_1 ... H_N], stacked by columns) and
 * sum (dX = dX_1 + ... + dX_N), plus the scatter of a full gradient into per-shard column blocks.
 */
public final class ColumnBlocks
{
    private ColumnBlocks()
    {
    }

    /** H = [H_1 ... H_N]: blocks of equal row count placed side by side, in shard order. */
    public static INDArray stackColumns(final List<INDArray> blocks)
    {
        final long rows = blocks.get(0).rows();
        for (int i = 1; i < blocks.size(); i++)
        {
            if (blocks.get(i).rows() != rows)
            {
                throw new SplitInputException("block " + i + " has " + blocks.get(i).rows() + " rows, block 0 has "
                    + rows);
            }
        }
        return blocks.size() == 1 ? blocks.get(0) : Nd4j.hstack(blocks.toArray(new INDArray[0]));
    }

    /** dX = sum_i dX_i: the partial input gradients of all shards, summed in shard order into a new array. */
    public static INDArray sumPartials(final List<INDArray> partials)
    {
        final INDArray sum = partials.get(0).dup();
        for (int i = 1; i < partials.size(); i++)
        {
            final INDArray partial = partials.get(i);
            if (!Arrays.equals(partial.shape(), sum.shape()))
            {
                throw new SplitInputException("partial " + i + " has shape " + Arrays.toString(partial.shape())
                    + ", partial 0 has " + Arrays.toString(sum.shape()));
            }
            sum.addi(partial);
        }
        return sum;
    }

    /** A contiguous copy of columns [start, end) of a matrix: the block dH_i of shard i. */
    public static INDArray columns(final INDArray matrix, final ColumnRange range)
    {
        if (range.end() > matrix.columns())
        {
            throw new SplitInputException("columns [" + range.start() + ", " + range.end() + ") asked of a matrix with "
                + matrix.columns() + " columns");
        }
        return matrix.get(NDArrayIndex.all(), NDArrayIndex.interval(range.start(), range.end())).dup();
    }
}
