package io.paratrain.sparktrainer.internal.data;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Pads one replica's minibatch of a step to the rows one process builds when it merges the whole step's examples
 * with DL4J's {@code MultiDataSet.merge} ({@code DataSetUtil.mergeTimeSeries}, per input and per output): a time
 * series (rank 3, [examples, size, time]) becomes as long as the step's longest, zero steps at the end; and it gets
 * a mask whenever the step needs one (some example has a mask, or the lengths differ), ones on its own steps and
 * zeros on the added ones, of the array's data type, per time step ([examples, time]) or, when some example of the
 * step has a per-output mask, per output ([examples, size, time]). A mask it has is kept and zero-padded.
 * <p>
 * {@link MinibatchMerge} pads to the longest of the replica's own slice; the step's longest, over all replicas, is
 * what {@link #describe} of every replica's minibatch, combined by {@link #combine}, gives.
 */
public final class TimeSeriesPadding
{
    /** {@link #describe}'s value for an array that is not a time series. */
    public static final int NOT_TIME_SERIES = -1;

    private TimeSeriesPadding()
    {
    }

    /**
     * Per input, then per output: the time length of its features or labels when they are a time series, else
     * {@link #NOT_TIME_SERIES}; then, in the same order, the rank of its mask (0 without one).
     */
    public static int[] describe(final MultiDataSet batch)
    {
        final INDArray[] parts = ExampleLayout.parts(batch);
        final int arrays = parts.length / 2;
        final int[] description = new int[parts.length];
        for (int a = 0; a < arrays; a++)
        {
            description[a] = parts[a].rank() == 3 ? (int)parts[a].size(2) : NOT_TIME_SERIES;
            description[arrays + a] = parts[arrays + a] == null ? 0 : parts[arrays + a].rank();
        }
        return description;
    }

    /**
     * What the step as a whole needs, from the {@link #describe} of each replica that has examples in it (all of one
     * layout): per array the longest time length, then per array the mask rank of the merged step, 0 when it needs
     * no mask (no example has one and all are of one length), else 3 when an example has a per-output mask, else 2.
     */
    public static int[] combine(final int[][] descriptions)
    {
        final int[] step = descriptions[0].clone();
        final int arrays = step.length / 2;
        for (int a = 0; a < arrays; a++)
        {
            boolean lengthsDiffer = false;
            for (final int[] description : descriptions)
            {
                lengthsDiffer |= description[a] != descriptions[0][a];
                step[a] = Math.max(step[a], description[a]);
                step[arrays + a] = Math.max(step[arrays + a], description[arrays + a]);
            }
            if (lengthsDiffer && step[arrays + a] == 0)
            {
                step[arrays + a] = 2;
            }
        }
        return step;
    }

    /** Whether a {@link #describe} or {@link #combine} result has a time series. */
    public static boolean hasTimeSeries(final int[] description)
    {
        for (int a = 0; a < description.length / 2; a++)
        {
            if (description[a] != NOT_TIME_SERIES)
            {
                return true;
            }
        }
        return false;
    }

    /**
     * {@code batch} padded to the step's needs ({@link #combine}), or {@code batch} itself when it has them already.
     */
    public static MultiDataSet pad(final MultiDataSet batch, final int[] step)
    {
        final INDArray[] parts = ExampleLayout.parts(batch);
        final int arrays = parts.length / 2;
        boolean changed = false;
        for (int a = 0; a < arrays; a++)
        {
            final INDArray array = parts[a];
            if (step[a] == NOT_TIME_SERIES || (array.size(2) == step[a] && (parts[arrays + a] != null ||
                step[arrays + a] == 0)))
            {
                continue;
            }
            final INDArray mask = parts[arrays + a];
            parts[arrays + a] = mask != null ? padded(mask, step[a], array.dataType()) :
                ownSteps(array, step[a], step[arrays + a]);
            parts[a] = padded(array, step[a], array.dataType());
            changed = true;
        }
        return changed ? ExampleLayout.assemble(parts, batch.numFeatureArrays(), batch.numLabelsArrays()) : batch;
    }

    /**
     * {@code array} (rank 2 or 3, time last) with zero steps up to {@code length}, of {@code type} (DL4J's merge gives
     * a mask the type of its time series).
     */
    private static INDArray padded(final INDArray array, final long length, final DataType type)
    {
        final long own = array.size(array.rank() - 1);
        if (own == length)
        {
            return array;
        }
        final long[] shape = array.shape().clone(); // shape() may be the array's own field
        shape[shape.length - 1] = length;
        final INDArray out = Nd4j.create(type, shape);
        if (array.rank() == 3)
        {
            out.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(0, own)).assign(array);
        }
        else
        {
            out.get(NDArrayIndex.all(), NDArrayIndex.interval(0, own)).assign(array);
        }
        return out;
    }

    /** The mask DL4J's merge gives an unmasked time series: ones on its own steps, zeros after, of its type. */
    private static INDArray ownSteps(final INDArray array, final long length, final int maskRank)
    {
        final long own = array.size(2);
        if (maskRank == 3)
        {
            final INDArray mask = Nd4j.create(array.dataType(), array.size(0), array.size(1), length);
            mask.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(0, own)).assign(1);
            return mask;
        }
        final INDArray mask = Nd4j.create(array.dataType(), array.size(0), length);
        mask.get(NDArrayIndex.all(), NDArrayIndex.interval(0, own)).assign(1);
        return mask;
    }
}
