package io.paratrain.modelsplit.internal;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.util.List;

/**
 * How the shards of one parameter (W or b of a split layer) cut DL4J's flat vector of that parameter, and how the
 * shards' flat vectors, gathered in rank order, go back. DL4J keeps W (nIn x nOut) flat in column-major order, and
 * every updater state component of W in the same order, so:
 * <pre>
 *   by columns: shard r owns columns [c_r, c_r+1) = flat elements [c_r k, c_r+1 k)  (k = nIn for W, 1 for b):
 *               a contiguous interval; the gathered blocks are the flat vector itself.
 *   by rows:    shard r owns rows [c_r, c_r+1) of W, kept flat in row-major order; the gathered blocks are W in
 *               row-major order, which is re-flattened column-major.
 * </pre>
 */
public sealed interface SliceLayout
{
    /** Floats of rank r's slice. */
    long length(int rank);

    /** Rank r's slice of {@code full} (DL4J's flat [1, n] vector of the parameter or of one state component). */
    INDArray cut(INDArray full, int rank);

    /** Writes {@code gathered} (every rank's slice in rank order) into {@code full}. */
    void place(INDArray gathered, INDArray full);

    /** Bytes of every rank's slice, for a gather. */
    default int[] blockBytes(final int ranks)
    {
        final int[] bytes = new int[ranks];
        for (int r = 0; r < ranks; r++)
        {
            bytes[r] = Math.toIntExact(length(r) * Float.BYTES);
        }
        return bytes;
    }

    /** Columns (or bias elements) of width k each: W by columns (k = nIn) or b (k = 1). */
    record Columns(List<ColumnRange> ranges, long rowsPerColumn) implements SliceLayout
    {
        @Override
        public long length(final int rank)
        {
            return ranges.get(rank).width() * rowsPerColumn;
        }

        @Override
        public INDArray cut(final INDArray full, final int rank)
        {
            final ColumnRange range = ranges.get(rank);
            return full.get(NDArrayIndex.interval(0, 0, true),
                NDArrayIndex.interval(range.start() * rowsPerColumn, range.end() * rowsPerColumn));
        }

        @Override
        public void place(final INDArray gathered, final INDArray full)
        {
            full.assign(gathered.reshape(full.shape()));
        }
    }

    /** Rows of W (nIn x nOut): rank r's slice is W[c_r .. c_r+1, :] in row-major order. */
    record Rows(List<ColumnRange> ranges, long nIn, long nOut) implements SliceLayout
    {
        @Override
        public long length(final int rank)
        {
            return ranges.get(rank).width() * nOut;
        }

        @Override
        public INDArray cut(final INDArray full, final int rank)
        {
            final ColumnRange range = ranges.get(rank);
            final INDArray matrix = full.dup().reshape('f', nIn, nOut);
            return Nd4j.toFlattened('c', matrix.get(NDArrayIndex.interval(range.start(), range.end()),
                NDArrayIndex.all())).reshape(1, length(rank));
        }

        @Override
        public void place(final INDArray gathered, final INDArray full)
        {
            full.assign(Nd4j.toFlattened('f', gathered.reshape('c', nIn, nOut)).reshape(full.shape()));
        }
    }
}
