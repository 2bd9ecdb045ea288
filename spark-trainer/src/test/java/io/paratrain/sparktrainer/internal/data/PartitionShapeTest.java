package io.paratrain.sparktrainer.internal.data;

import io.paratrain.sparktrainer.exceptions.TrainingInputException;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

class PartitionShapeTest
{
    private static final long[] FLAT = layout(flat(2, 784, 10));
    private static final long[] EMPTY = new long[0];

    /** The layout of a DataSet: the MultiDataSet of one input and one output. */
    private static long[] layout(final DataSet batch)
    {
        return ExampleLayout.of(Examples.of(batch));
    }

    static DataSet flat(final int examples, final int features, final int labels)
    {
        return new DataSet(Nd4j.zeros(DataType.FLOAT, examples, features), Nd4j.zeros(DataType.FLOAT, examples,
            labels));
    }

    /** [examples, 3, length] features and [examples, 4, length] labels, with [examples, length] masks or none. */
    static DataSet series(final int examples, final int length, final boolean masks)
    {
        return new DataSet(Nd4j.zeros(DataType.FLOAT, examples, 3, length), Nd4j.zeros(DataType.FLOAT, examples, 4,
            length), masks ? Nd4j.ones(DataType.FLOAT, examples, length) : null,
            masks ? Nd4j.ones(DataType.FLOAT, examples, length) : null);
    }

    @Test
    void layoutsNameEveryPartsShapeAfterTheExampleDimension()
    {
        assertArrayEquals(new long[] {1, 1, 2, 784, 2, 10, 0, 0, 1}, FLAT);
        assertArrayEquals(new long[] {1, 1, 3, 3, 5, 3, 4, 5, 2, 5, 2, 5, 1}, layout(series(7, 5, true)));
        assertArrayEquals(new long[] {1, 1, 4, 1, 28, 28, 2, 10, 0, 0, 1}, layout(new DataSet(
            Nd4j.zeros(DataType.FLOAT, 2, 1, 28, 28), Nd4j.zeros(DataType.FLOAT, 2, 10))));
        assertEquals("features [n, 3, 5], labels [n, 4, 5], features mask [n, 5], labels mask [n, 5]",
            ExampleLayout.describe(layout(series(7, 5, true))));
    }

    @Test
    void emptyPartitionsDoNotCountAndEqualLayoutsAreCommon()
    {
        assertArrayEquals(FLAT, PartitionShape.commonLayout(List.of(new PartitionShape(5, FLAT, true),
            new PartitionShape(0, EMPTY, true), new PartitionShape(9, FLAT, true))));
        final long[] series = layout(series(2, 6, true));
        assertArrayEquals(series, PartitionShape.commonLayout(List.of(new PartitionShape(5, series, true),
            new PartitionShape(9, series, true))));
    }

    @Test
    void mixedOrDifferentLayoutsOrNoDataHaveNoCommonLayout()
    {
        assertNull(PartitionShape.commonLayout(List.of(new PartitionShape(5, FLAT, true),
            new PartitionShape(3, FLAT, false))));
        assertNull(PartitionShape.commonLayout(List.of(new PartitionShape(5, FLAT, true),
            new PartitionShape(3, layout(flat(1, 783, 10)), true))));
        assertNull(PartitionShape.commonLayout(List.of(new PartitionShape(5, layout(series(1, 5, true)),
            true), new PartitionShape(3, layout(series(1, 7, true)), true))));
        assertNull(PartitionShape.commonLayout(List.of(new PartitionShape(5, layout(new DataSet(
            Nd4j.zeros(DataType.DOUBLE, 1, 4), Nd4j.zeros(DataType.FLOAT, 1, 2))), true))));
        assertNull(PartitionShape.commonLayout(List.of(new PartitionShape(0, EMPTY, true))));
    }

    @Test
    void timeSeriesOfOtherLengthsAndMissingMasksCombineOtherShapesDoNot()
    {
        assertNull(ExampleLayout.mismatch(layout(series(2, 5, true)), layout(series(3, 7,
            false))));
        assertEquals("features dimension 1 is 784 and 783", ExampleLayout.mismatch(FLAT,
            layout(flat(1, 783, 10))));
        assertEquals("features of rank 3 and 2", ExampleLayout.mismatch(layout(series(2, 5, true)), FLAT));
        assertEquals("one has a features mask and the other none (only time series, rank 3, can be padded with " +
            "masks)", ExampleLayout.mismatch(FLAT, layout(new DataSet(Nd4j.zeros(DataType.FLOAT, 1, 784),
            Nd4j.zeros(DataType.FLOAT, 1, 10), Nd4j.ones(DataType.FLOAT, 1, 784), null))));
        assertEquals("one has labels and the other none", ExampleLayout.mismatch(FLAT, layout(
            new DataSet(Nd4j.zeros(DataType.FLOAT, 1, 784), null))));
    }

    @Test
    void partitionsThatCannotBeCombinedAreNamed()
    {
        assertDoesNotThrow(() -> PartitionShape.checkCombinable(List.of(new PartitionShape(2, layout(
            series(2, 5, true)), true), new PartitionShape(0, EMPTY, true),
            new PartitionShape(3, layout(series(3, 9, false)), true)), "DataSet"));
        final TrainingInputException across = assertThrows(TrainingInputException.class,
            () -> PartitionShape.checkCombinable(List.of(new PartitionShape(5, FLAT, true), new PartitionShape(0,
                EMPTY, true), new PartitionShape(3, layout(flat(3, 783, 10)), true)), "DataSet"));
        assertEquals("partition 2, DataSet 0: cannot combine its examples into a minibatch with partition 0's: " +
            "features dimension 1 is 784 and 783; partition 0 has features [n, 784], labels [n, 10], no features " +
            "mask, no labels mask, partition 2 has features [n, 783], labels [n, 10], no features mask, no labels " +
            "mask", across.getMessage());
        final TrainingInputException within = assertThrows(TrainingInputException.class,
            () -> PartitionShape.checkCombinable(List.of(new PartitionShape(5, FLAT, false, 4,
                layout(flat(1, 784, 9)))), "DataSet"));
        assertEquals("partition 0, DataSet 4: cannot combine its examples into a minibatch with the partition's " +
            "DataSet 0: labels dimension 1 is 10 and 9; DataSet 0 has features [n, 784], labels [n, 10], no " +
            "features mask, no labels mask, DataSet 4 has features [n, 784], labels [n, 9], no features mask, no " +
            "labels mask", within.getMessage());
    }
}
