package io.paratrain.sparktrainer.internal.data;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The shape of one example of a MultiDataSet, as longs (what a Spark job can return whatever the serializer): the
 * number of inputs and of outputs, then for each of its {@link #parts} (every input's features, every output's
 * labels, every input's mask, every output's mask) its rank (0 when absent) and its dimensions after the example
 * dimension 0, then 1 when all parts are FLOAT arrays, else 0. A DataSet is the case of one input and one output.
 * <p>
 * Two MultiDataSets can be combined into one minibatch when their layouts are equal (concatenated along dimension
 * 0), or, for time series (rank 3, [examples, size, time]), when they differ only in the time length and in whether
 * a time series has a mask: they are padded to the longest with zero masks, as DL4J's own {@code MultiDataSet.merge}
 * (and {@code DataSet.merge}, the same code for one input and one output) does, which a user who merges the same
 * examples into one minibatch gets too.
 */
public final class ExampleLayout
{
    private ExampleLayout()
    {
    }

    public static long[] of(final MultiDataSet batch)
    {
        final INDArray[] parts = parts(batch);
        final long[][] shapes = new long[parts.length][];
        final DataType[] types = new DataType[parts.length];
        for (int part = 0; part < parts.length; part++)
        {
            shapes[part] = parts[part] == null ? null : parts[part].shape();
            types[part] = parts[part] == null ? null : parts[part].dataType();
        }
        return of(batch.numFeatureArrays(), batch.numLabelsArrays(), shapes, types);
    }

    /**
     * The layout of a MultiDataSet whose {@link #parts} have {@code shapes} (example dimension included; null for an
     * absent mask) and data {@code types}, known without its arrays (say, from an exported file's headers).
     */
    public static long[] of(final int inputs, final int outputs, final long[][] shapes, final DataType[] types)
    {
        final List<Long> fields = new ArrayList<>();
        fields.add((long)inputs);
        fields.add((long)outputs);
        boolean floats = true;
        for (int part = 0; part < shapes.length; part++)
        {
            final long[] shape = shapes[part];
            fields.add(shape == null ? 0L : shape.length);
            if (shape != null)
            {
                for (int d = 1; d < shape.length; d++)
                {
                    fields.add(shape[d]);
                }
                floats &= types[part] == DataType.FLOAT;
            }
        }
        fields.add(floats ? 1L : 0L);
        return fields.stream().mapToLong(Long::longValue).toArray();
    }

    /**
     * Every input's features, every output's labels, every input's mask, every output's mask (a mask may be null):
     * 2 x (inputs + outputs) arrays, for one input and one output features, labels, features mask, labels mask.
     */
    public static INDArray[] parts(final MultiDataSet batch)
    {
        final int inputs = batch.numFeatureArrays();
        final int outputs = batch.numLabelsArrays();
        final INDArray[] parts = new INDArray[2 * (inputs + outputs)];
        for (int i = 0; i < inputs; i++)
        {
            parts[i] = batch.getFeatures(i);
            parts[inputs + outputs + i] = batch.getFeaturesMaskArrays() == null ? null : batch.getFeaturesMaskArray(i);
        }
        for (int o = 0; o < outputs; o++)
        {
            parts[inputs + o] = batch.getLabels(o);
            parts[2 * inputs + outputs + o] = batch.getLabelsMaskArrays() == null ? null :
                batch.getLabelsMaskArray(o);
        }
        return parts;
    }

    /** The MultiDataSet of {@code parts} in the order of {@link #parts} (no mask arrays when every mask is null). */
    public static MultiDataSet assemble(final INDArray[] parts, final int inputs, final int outputs)
    {
        final INDArray[] features = Arrays.copyOfRange(parts, 0, inputs);
        final INDArray[] labels = Arrays.copyOfRange(parts, inputs, inputs + outputs);
        final INDArray[] featuresMasks = Arrays.copyOfRange(parts, inputs + outputs, 2 * inputs + outputs);
        final INDArray[] labelsMasks = Arrays.copyOfRange(parts, 2 * inputs + outputs, 2 * (inputs + outputs));
        return new org.nd4j.linalg.dataset.MultiDataSet(features, outputs == 0 ? null : labels,
            allNull(featuresMasks) ? null : featuresMasks, allNull(labelsMasks) ? null : labelsMasks);
    }

    private static boolean allNull(final INDArray[] arrays)
    {
        return Arrays.stream(arrays).allMatch(a -> a == null);
    }

    public static int inputs(final long[] layout)
    {
        return (int)layout[0];
    }

    public static int outputs(final long[] layout)
    {
        return (int)layout[1];
    }

    /** Arrays of a MultiDataSet of {@code layout}, masks included: 2 x (inputs + outputs). */
    public static int partCount(final long[] layout)
    {
        return 2 * (inputs(layout) + outputs(layout));
    }

    /** The shape of one example of each part, without the example dimension; null for an absent mask. */
    public static long[][] exampleShapes(final long[] layout)
    {
        final long[][] shapes = new long[partCount(layout)][];
        int at = 2;
        for (int part = 0; part < shapes.length; part++)
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
     * Null when MultiDataSets of layouts {@code a} and {@code b} can go into one minibatch (see the class comment),
     * else what differs.
     */
    public static String mismatch(final long[] a, final long[] b)
    {
        if (inputs(a) != inputs(b))
        {
            return "one has " + inputs(a) + " inputs and the other " + inputs(b);
        }
        if (outputs(a) != outputs(b))
        {
            return outputs(a) == 0 || outputs(b) == 0 ? "one has labels and the other none" :
                "one has " + outputs(a) + " outputs and the other " + outputs(b);
        }
        final long[][] first = exampleShapes(a);
        final long[][] other = exampleShapes(b);
        final int arrays = inputs(a) + outputs(a);
        for (int part = 0; part < arrays; part++)
        {
            final String name = name(a, part);
            final long[] x = first[part];
            final long[] y = other[part];
            if (x == null || y == null)
            {
                if (x != y)
                {
                    return "one has " + name + " and the other none";
                }
                continue;
            }
            if (x.length != y.length)
            {
                return name + " of rank " + (x.length + 1) + " and " + (y.length + 1);
            }
            final boolean timeSeries = x.length == 2;
            for (int d = 0; d < x.length; d++)
            {
                if (x[d] != y[d] && !(timeSeries && d == 1))
                {
                    return name + " dimension " + (d + 1) + " is " + x[d] + " and " + y[d] +
                        (timeSeries ? " (only the time length, dimension 2, may differ)" : "");
                }
            }
            final String maskName = name(a, part + arrays);
            final long[] xMask = first[part + arrays];
            final long[] yMask = other[part + arrays];
            if ((xMask == null) != (yMask == null) && !timeSeries)
            {
                return "one has a " + maskName + " and the other none (only time series, rank 3, can be padded " +
                    "with masks)";
            }
            if (xMask != null && yMask != null && xMask.length != yMask.length)
            {
                return maskName + " of rank " + (xMask.length + 1) + " and " + (yMask.length + 1);
            }
            if (xMask != null && yMask != null && !timeSeries && !Arrays.equals(xMask, yMask))
            {
                return maskName + " shapes " + shape(xMask) + " and " + shape(yMask);
            }
        }
        return null;
    }

    /**
     * Say, "features [n, 3, 7], labels [n, 4, 7], features mask [n, 7], no labels mask"; with several inputs or
     * outputs each is numbered ("features 0 [n, 5], features 1 [n, 3], ...").
     */
    public static String describe(final long[] layout)
    {
        final long[][] shapes = exampleShapes(layout);
        final List<String> parts = new ArrayList<>();
        for (int part = 0; part < shapes.length; part++)
        {
            parts.add(shapes[part] == null ? "no " + name(layout, part) : name(layout, part) + " " +
                shape(shapes[part]));
        }
        return String.join(", ", parts) + (allFloat(layout) ? "" : " (not all FLOAT)");
    }

    /** "features", "labels 1", "features mask", "labels 0 mask": numbered when there are several of its kind. */
    private static String name(final long[] layout, final int part)
    {
        final int inputs = inputs(layout);
        final int arrays = inputs + outputs(layout);
        final int array = part % arrays;
        final boolean input = array < inputs;
        final int count = input ? inputs : outputs(layout);
        final int index = input ? array : array - inputs;
        return (input ? "features" : "labels") + (count == 1 ? "" : " " + index) + (part >= arrays ? " mask" : "");
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
        final long[] elements = new long[shapes.length];
        for (int part = 0; part < shapes.length; part++)
        {
            elements[part] = shapes[part] == null ? 0 : Arrays.stream(shapes[part]).reduce(1, Math::multiplyExact);
        }
        return elements;
    }
}
