package io.paratrain.sparktrainer.internal.data;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The shape of one example of a DataSet, as longs (what a Spark job can return whatever the serializer): for each
 * of features, labels, features mask and labels mask its rank (0 when absent) and its dimensions after the example
 * dimension 0, then 1 when all four are FLOAT arrays, else 0.
 * <p>
 * Two DataSets can be combined into one minibatch when their layouts are equal (concatenated along dimension 0),
 * or, for time series (rank 3, [examples, size, time]), when they differ only in the time length and in whether
 * a time series has a mask: they are padded to the longest with zero masks, as DL4J's own {@code DataSet.merge}
 * does, which a user who merges the same examples into one minibatch gets too.
 */
public final class ExampleLayout
{
    /** Features, labels, features mask, labels mask: the order of the arrays in a layout. */
    public static final int PARTS = 4;
    private static final String[] NAMES = {"features", "labels", "features mask", "labels mask"};

    private ExampleLayout()
    {
    }

    public static long[] of(final DataSet batch)
    {
        final List<Long> fields = new ArrayList<>();
        boolean floats = true;
        for (final INDArray array : parts(batch))
        {
            fields.add(array == null ? 0L : array.rank());
            if (array != null)
            {
                for (int d = 1; d < array.rank(); d++)
                {
                    fields.add(array.size(d));
                }
                floats &= array.dataType() == DataType.FLOAT;
            }
        }
        fields.add(floats ? 1L : 0L);
        return fields.stream().mapToLong(Long::longValue).toArray();
    }

    /** Features, labels, features mask, labels mask (the masks may be null). */
    public static INDArray[] parts(final DataSet batch)
    {
        return new INDArray[] {batch.getFeatures(), batch.getLabels(), batch.getFeaturesMaskArray(),
            batch.getLabelsMaskArray()};
    }

    /** The shape of one example of each part, without the example dimension; null for an absent mask. */
    public static long[][] exampleShapes(final long[] layout)
    {
        final long[][] shapes = new long[PARTS][];
        int at = 0;
        for (int part = 0; part < PARTS; part++)
        {
            final int rank = (int)layout[at++];
            shapes[part] = rank == 0 ? null : Arrays.copyOfRange(layout, at, at + rank - 1);
            at += Math.max(0, rank - 1);
        }
        return shapes;
    }

    public static boolean allFloat(final long[] layout)
    {
        return layout[layout.length - 1] == 1;
    }

    /**
     * Null when DataSets of layouts {@code a} and {@code b} can go into one minibatch (see the class comment), else
     * what differs.
     */
    public static String mismatch(final long[] a, final long[] b)
    {
        final long[][] first = exampleShapes(a);
        final long[][] other = exampleShapes(b);
        for (int part = 0; part < 2; part++)
        {
            final long[] x = first[part];
            final long[] y = other[part];
            if (x == null || y == null)
            {
                if (x != y)
                {
                    return "one has " + NAMES[part] + " and the other none";
                }
                continue;
            }
            if (x.length != y.length)
            {
                return NAMES[part] + " of rank " + (x.length + 1) + " and " + (y.length + 1);
            }
            final boolean timeSeries = x.length == 2;
            for (int d = 0; d < x.length; d++)
            {
                if (x[d] != y[d] && !(timeSeries && d == 1))
                {
                    return NAMES[part] + " dimension " + (d + 1) + " is " + x[d] + " and " + y[d] +
                        (timeSeries ? " (only the time length, dimension 2, may differ)" : "");
                }
            }
            final long[] xMask = first[part + 2];
            final long[] yMask = other[part + 2];
            if ((xMask == null) != (yMask == null) && !timeSeries)
            {
                return "one has a " + NAMES[part + 2] + " and the other none (only time series, rank 3, can be " +
                    "padded with masks)";
            }
            if (xMask != null && yMask != null && xMask.length != yMask.length)
            {
                return NAMES[part + 2] + " of rank " + (xMask.length + 1) + " and " + (yMask.length + 1);
            }
            if (xMask != null && yMask != null && !timeSeries && !Arrays.equals(xMask, yMask))
            {
                return NAMES[part + 2] + " shapes " + shape(xMask) + " and " + shape(yMask);
            }
        }
        return null;
    }

    /** Say, "features [n, 3, 7], labels [n, 4, 7], features mask [n, 7], no labels mask". */
    public static String describe(final long[] layout)
    {
        final long[][] shapes = exampleShapes(layout);
        final List<String> parts = new ArrayList<>();
        for (int part = 0; part < PARTS; part++)
        {
            parts.add(shapes[part] == null ? "no " + NAMES[part] : NAMES[part] + " " + shape(shapes[part]));
        }
        return String.join(", ", parts) + (allFloat(layout) ? "" : " (not all FLOAT)");
    }

    private static String shape(final long[] exampleShape)
    {
        final StringBuilder text = new StringBuilder("[n");
        for (final long d : exampleShape)
        {
            text.append(", ").append(d);
        }
        return text.append(']').toString();
    }

    /** Elements of one example of each part (0 for an absent mask). */
    public static long[] exampleElements(final long[] layout)
    {
        final long[][] shapes = exampleShapes(layout);
        final long[] elements = new long[PARTS];
        for (int part = 0; part < PARTS; part++)
        {
            elements[part] = shapes[part] == null ? 0 : Arrays.stream(shapes[part]).reduce(1, Math::multiplyExact);
        }
        return elements;
    }
}
