package io.paratrain.sparktrainer.internal.data;

import io.paratrain.sparktrainer.exceptions.TrainingInputException;

import java.util.Arrays;
import java.util.List;
import java.util.stream.LongStream;

/**
 * What the driver learns about one partition of the training data in its counting job: how many examples, the
 * {@link ExampleLayout} of its first DataSet, whether every DataSet has exactly that layout (then
 * {@link ExampleExchange} can move the examples between the replicas without a Spark shuffle), and the first
 * DataSet that cannot go into one minibatch with the first at all.
 *
 * @param layout         the first DataSet's layout; empty when the partition is empty.
 * @param uniform        every DataSet of the partition has {@code layout}.
 * @param mismatchIndex  position in the partition of the first DataSet not combinable with the first, or -1.
 * @param mismatchLayout that DataSet's layout; empty when none.
 */
public record PartitionShape(long examples, long[] layout, boolean uniform, long mismatchIndex,
    long[] mismatchLayout)
{
    /** A partition none of whose DataSets mismatch. */
    public PartitionShape(final long examples, final long[] layout, final boolean uniform)
    {
        this(examples, layout, uniform, -1, new long[0]);
    }

    /** The fields as longs: examples, uniform (1 or 0), mismatchIndex, then each layout after its length. */
    public long[] toLongs()
    {
        return LongStream.concat(LongStream.of(examples, uniform ? 1 : 0, mismatchIndex, layout.length),
            LongStream.concat(Arrays.stream(layout), LongStream.concat(LongStream.of(mismatchLayout.length),
            Arrays.stream(mismatchLayout)))).toArray();
    }

    /** Reads what {@link #toLongs} wrote. */
    public static PartitionShape fromLongs(final long[] fields)
    {
        final int layoutEnd = 4 + (int)fields[3];
        final long[] layout = Arrays.copyOfRange(fields, 4, layoutEnd);
        final long[] mismatch = Arrays.copyOfRange(fields, layoutEnd + 1, layoutEnd + 1 + (int)fields[layoutEnd]);
        return new PartitionShape(fields[0], layout, fields[1] != 0, fields[2], mismatch);
    }

    /**
     * Checks that the records of all partitions can be combined into minibatches (see {@link ExampleLayout}).
     *
     * @param record what the caller's RDD holds ("DataSet" or "MultiDataSet"), to name a record in errors.
     * @throws TrainingInputException naming the partition, the record and both shapes, for the first that cannot.
     */
    public static void checkCombinable(final List<PartitionShape> partitions, final String record)
    {
        long[] reference = null;
        int referencePartition = -1;
        for (int p = 0; p < partitions.size(); p++)
        {
            final PartitionShape shape = partitions.get(p);
            if (shape.mismatchIndex() >= 0)
            {
                throw new TrainingInputException("partition " + p + ", " + record + " " + shape.mismatchIndex() +
                    ": cannot combine its examples into a minibatch with the partition's " + record + " 0: " +
                    ExampleLayout.mismatch(shape.layout(), shape.mismatchLayout()) + "; " + record + " 0 has " +
                    ExampleLayout.describe(shape.layout()) + ", " + record + " " + shape.mismatchIndex() + " has " +
                    ExampleLayout.describe(shape.mismatchLayout()));
            }
            if (shape.examples() == 0)
            {
                continue;
            }
            if (reference == null)
            {
                reference = shape.layout();
                referencePartition = p;
                continue;
            }
            final String mismatch = ExampleLayout.mismatch(reference, shape.layout());
            if (mismatch != null)
            {
                throw new TrainingInputException("partition " + p + ", " + record + " 0: cannot combine its examples " +
                    "into a minibatch with partition " + referencePartition + "'s: " + mismatch + "; partition " +
                    referencePartition + " has " + ExampleLayout.describe(reference) + ", partition " + p +
                    " has " + ExampleLayout.describe(shape.layout()));
            }
        }
    }

    /**
     * The layout shared by every DataSet of every non-empty partition when they are all FLOAT arrays, or null
     * (then the examples take the Spark shuffle, which pads time series of different lengths).
     */
    public static long[] commonLayout(final List<PartitionShape> partitions)
    {
        long[] common = null;
        for (final PartitionShape p : partitions)
        {
            if (p.examples() == 0)
            {
                continue;
            }
            if (!p.uniform() || !ExampleLayout.allFloat(p.layout()) ||
                (common != null && !Arrays.equals(common, p.layout())))
            {
                return null;
            }
            common = p.layout();
        }
        return common;
    }

    @Override
    public boolean equals(final Object other)
    {
        return other instanceof PartitionShape that && Arrays.equals(toLongs(), that.toLongs());
    }

    @Override
    public int hashCode()
    {
        return Arrays.hashCode(toLongs());
    }

    @Override
    public String toString()
    {
        return "PartitionShape" + Arrays.toString(toLongs());
    }
}
