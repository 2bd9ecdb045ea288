package io.paratrain.sparktrainer.internal;

import java.io.Serializable;
import java.util.List;

/**
 * What the driver learns about one partition of the training data in its counting job: how many examples, and
 * whether they are plain float matrices (no masks) of one width, which {@link ExampleExchange} can move between
 * the replicas without a Spark shuffle.
 *
 * @param featureWidth columns of the features (-1 when the partition is empty or not {@code flat}).
 * @param labelWidth   columns of the labels (-1 likewise).
 * @param flat         every DataSet has 2-d float features and labels, no masks, and the same widths.
 */
public record PartitionShape(long examples, long featureWidth, long labelWidth, boolean flat) implements Serializable
{
    /** The fields as four longs (flat as 1 or 0): what the counting job returns through Spark. */
    public long[] toLongs()
    {
        return new long[] {examples, featureWidth, labelWidth, flat ? 1 : 0};
    }

    /** Reads what {@link #toLongs} wrote. */
    public static PartitionShape fromLongs(final long[] fields)
    {
        return new PartitionShape(fields[0], fields[1], fields[2], fields[3] != 0);
    }

    /** The common widths of all non-empty partitions, or null when they are not all flat with equal widths. */
    public static long[] commonFlatWidths(final List<PartitionShape> partitions)
    {
        long features = -1;
        long labels = -1;
        for (final PartitionShape p : partitions)
        {
            if (p.examples() == 0)
            {
                continue;
            }
            if (!p.flat() || (features >= 0 && (p.featureWidth() != features || p.labelWidth() != labels)))
            {
                return null;
            }
            features = p.featureWidth();
            labels = p.labelWidth();
        }
        return features < 0 ? null : new long[] {features, labels};
    }
}
