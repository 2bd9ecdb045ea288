package io.paratrain.sparktrainer.internal.data;

import io.paratrain.sparktrainer.RawBits;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.MultiDataSet;
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
        final MultiDataSet merged = MinibatchMerge.merge(List.of(Examples.of(a), Examples.of(b)));
        assertArrayEquals(new long[] {5, 1, 5, 5}, merged.getFeatures(0).shape());
        assertArrayEquals(RawBits.of(a.getFeatures()),
            RawBits.of(merged.getFeatures(0).get(NDArrayIndex.interval(0, 2))));
        assertArrayEquals(RawBits.of(b.getFeatures()),
            RawBits.of(merged.getFeatures(0).get(NDArrayIndex.interval(2, 5))));
        assertArrayEquals(RawBits.of(DataSet.merge(List.of(a, b)).getLabels()), RawBits.of(merged.getLabels(0)));
        assertNull(merged.getFeaturesMaskArrays());
    }

    /**
     * Lengths 5 and 7, masks on one run only: padded to 7 with zero masks by DL4J's MultiDataSet.merge, bit for bit
     * as DL4J's DataSet.merge (what a single process that trains on DataSets merges).
     */
    @Test
    void timeSeriesOfDifferentLengthsArePaddedWithZeroMasksAsDl4jMerges()
    {
        final DataSet shorter = new DataSet(Nd4j.rand(DataType.FLOAT, 2, 3, 5), Nd4j.rand(DataType.FLOAT, 2, 4, 5),
            Nd4j.ones(DataType.FLOAT, 2, 5), null);
        final DataSet longer = new DataSet(Nd4j.rand(DataType.FLOAT, 1, 3, 7), Nd4j.rand(DataType.FLOAT, 1, 4, 7));
        final MultiDataSet merged = MinibatchMerge.merge(List.of(Examples.of(shorter), Examples.of(longer)));
        final DataSet expected = DataSet.merge(List.of(shorter, longer));
        assertArrayEquals(new long[] {3, 3, 7}, merged.getFeatures(0).shape());
        assertArrayEquals(RawBits.of(expected.getFeatures()), RawBits.of(merged.getFeatures(0)));
        assertArrayEquals(RawBits.of(expected.getLabels()), RawBits.of(merged.getLabels(0)));
        assertArrayEquals(RawBits.of(expected.getFeaturesMaskArray()), RawBits.of(merged.getFeaturesMaskArray(0)));
        assertArrayEquals(RawBits.of(expected.getLabelsMaskArray()), RawBits.of(merged.getLabelsMaskArray(0)));
        assertArrayEquals(new float[] {1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1},
            merged.getFeaturesMaskArray(0).dup('c').data().asFloat());
        assertEquals(0, merged.getFeatures(0).get(NDArrayIndex.interval(0, 2), NDArrayIndex.all(),
            NDArrayIndex.interval(5, 7)).sumNumber().doubleValue());
    }

    /** Two inputs, one with a mask, and two outputs of one layout: each array concatenated as DL4J merges it. */
    @Test
    void severalInputsAndOutputsAreConcatenatedEachAsDl4jMerges()
    {
        final MultiDataSet a = twoInTwoOut(2);
        final MultiDataSet b = twoInTwoOut(3);
        final MultiDataSet merged = MinibatchMerge.merge(List.of(a, b));
        final MultiDataSet expected = org.nd4j.linalg.dataset.MultiDataSet.merge(List.of(a, b));
        for (int i = 0; i < 2; i++)
        {
            assertArrayEquals(RawBits.of(expected.getFeatures(i)), RawBits.of(merged.getFeatures(i)), "input " + i);
            assertArrayEquals(RawBits.of(expected.getLabels(i)), RawBits.of(merged.getLabels(i)), "output " + i);
        }
        assertArrayEquals(RawBits.of(expected.getFeaturesMaskArray(0)), RawBits.of(merged.getFeaturesMaskArray(0)));
        assertNull(merged.getFeaturesMaskArray(1));
        assertNull(merged.getLabelsMaskArrays());
        assertArrayEquals(new long[] {5, 3, 4}, merged.getFeatures(0).shape());
    }

    private static MultiDataSet twoInTwoOut(final int examples)
    {
        return new org.nd4j.linalg.dataset.MultiDataSet(new INDArray[] {Nd4j.rand(DataType.FLOAT, examples, 3, 4),
            Nd4j.rand(DataType.FLOAT, examples, 6)}, new INDArray[] {Nd4j.rand(DataType.FLOAT, examples, 2),
            Nd4j.rand(DataType.FLOAT, examples, 1)}, new INDArray[] {Nd4j.rand(DataType.FLOAT, examples, 4), null},
            null);
    }
}
