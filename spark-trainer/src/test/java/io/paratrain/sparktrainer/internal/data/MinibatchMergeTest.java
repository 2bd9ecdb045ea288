package io.paratrain.sparktrainer.internal.data;

import io.paratrain.sparktrainer.RawBits;
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
        assertArrayEquals(RawBits.of(a.getFeatures()),
            RawBits.of(merged.getFeatures().get(NDArrayIndex.interval(0, 2))));
        assertArrayEquals(RawBits.of(b.getFeatures()),
            RawBits.of(merged.getFeatures().get(NDArrayIndex.interval(2, 5))));
        assertArrayEquals(RawBits.of(DataSet.merge(List.of(a, b)).getLabels()), RawBits.of(merged.getLabels()));
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
        assertArrayEquals(RawBits.of(expected.getFeatures()), RawBits.of(merged.getFeatures()));
        assertArrayEquals(RawBits.of(expected.getLabels()), RawBits.of(merged.getLabels()));
        assertArrayEquals(RawBits.of(expected.getFeaturesMaskArray()), RawBits.of(merged.getFeaturesMaskArray()));
        assertArrayEquals(RawBits.of(expected.getLabelsMaskArray()), RawBits.of(merged.getLabelsMaskArray()));
        assertArrayEquals(new float[] {1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1},
            merged.getFeaturesMaskArray().dup('c').data().asFloat());
        assertEquals(0, merged.getFeatures().get(NDArrayIndex.interval(0, 2), NDArrayIndex.all(),
            NDArrayIndex.interval(5, 7)).sumNumber().doubleValue());
    }
}
