package io.paratrain.sparktrainer.internal.data;

import org.apache.spark.api.java.JavaRDD;
import org.nd4j.linalg.dataset.api.MultiDataSet;

import java.util.Arrays;

/**
 * What the counting job needs of one MultiDataSet of the training data, as longs: its example count, then its
 * {@link ExampleLayout}. An RDD of these, partition for partition the data's, lets the count skip loading the
 * examples when their shapes are known otherwise (exported files: {@link ExportedDataSets#shapes}).
 */
public final class BatchShapes
{
    private BatchShapes()
    {
    }

    public static long[] of(final MultiDataSet batch)
    {
        return of(Examples.count(batch), ExampleLayout.of(batch));
    }

    public static long[] of(final long examples, final long[] layout)
    {
        final long[] shape = new long[layout.length + 1];
        shape[0] = examples;
        System.arraycopy(layout, 0, shape, 1, layout.length);
        return shape;
    }

    /** The shapes of {@code data}'s MultiDataSets, element for element in the same partitions (each computed). */
    public static JavaRDD<long[]> of(final JavaRDD<MultiDataSet> data)
    {
        return data.map(BatchShapes::of);
    }

    public static long examples(final long[] shape)
    {
        return shape[0];
    }

    public static long[] layout(final long[] shape)
    {
        return Arrays.copyOfRange(shape, 1, shape.length);
    }
}
