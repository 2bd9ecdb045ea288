package io.paratrain.sparktrainer.internal;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

class MinibatchMergeTest
{
    @Test
    void imagesOfOneShapeAreConcatenatedAlongTheExampleDimension()
    {
        final DataSet a = new DataSet(Nd4j.rand(DataType.FLOAT, 2, 1, 5, 5), Nd4j.rand(DataType.FLOAT, 2, 3));
        final DataSet b = new DataSet(Nd4j.rand(DataType.FLOAT, 3, 1, 5, 5), Nd4j.rand(DataType.FLOAT, 3, 3));
        final DataSet merged = MinibatchMerge.merge(List.of(a, b));
        assertArrayEquals(new long[] {5, 1, 5, 5}, merged.getFeatures().shape());
        assertArrayEquals(bits(a.getFeatures()), bits(merged.getFeatures().get(NDArrayIndex.interval(0, 2))));
        assertArrayEquals(bits(b.getFeatures()), bits(merged.getFeatures().get(NDArrayIndex.interval(2, 5))));
        assertArrayEquals(bits(DataSet.merge(List.of(a, b)).getLabels()), bits(merged.getLabels()));
        assertNull(merged.getFeaturesMaskArray());
    }

    /** Lengths 5 and 7, masks on one run only: padded to 7 with zero masks, bit for bit as DL4J's merge. */
    @Test
    void timeSeriesOfDifferentLengthsArePaddedWithZeroMasksAsDl4jMerges()
    {
        final DataSet shorter = new DataSet(Nd4j.rand(DataType.FLOAT, 2, 3, 5), Nd4j.rand(DataType.FLOAT, 2, 4, 5),
            Nd4j.ones(DataType.FLOAT, 2, 5), null);
        final DataSet longer = new DataSet(Nd4j.rand(DataType.FLOAT, 1, 3, 7), Nd4j.rand(DataType.FLOAT, 1, 4, 7));
        final DataSet merged = MinibatchMerge.merge(List.of(shorter, longer));
        final DataSet expected = DataSet.merge(List.of(shorter, longer));
        assertArrayEquals(new long[] {3, 3, 7}, merged.getFeatures().shape());
        assertArrayEquals(bits(expected.getFeatures()), bits(merged.getFeatures()));
        assertArrayEquals(bits(expected.getLabels()), bits(merged.getLabels()));
        assertArrayEquals(bits(expected.getFeaturesMaskArray()), bits(merged.getFeaturesMaskArray()));
        assertArrayEquals(bits(expected.getLabelsMaskArray()), bits(merged.getLabelsMaskArray()));
        assertArrayEquals(new float[] {1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1},
            merged.getFeaturesMaskArray().dup('c').data().asFloat());
        assertEquals(0, merged.getFeatures().get(NDArrayIndex.interval(0, 2), NDArrayIndex.all(),
            NDArrayIndex.interval(5, 7)).sumNumber().doubleValue());
    }

    private static int[] bits(final INDArray array)
    {
        final float[] values = array.dup('c').data().asFloat();
        final int[] bits = new int[values.length];
        for (int i = 0; i < values.length; i++)
        {
            bits[i] = Float.floatToRawIntBits(values[i]);
        }
        return bits;
    }
}
