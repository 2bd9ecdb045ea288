package io.paratrain.sparktrainer.internal;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

class PartitionShapeTest
{
    @Test
    void emptyPartitionsDoNotCountAndEqualFlatWidthsAreCommon()
    {
        assertArrayEquals(new long[] {784, 10}, PartitionShape.commonFlatWidths(List.of(
            new PartitionShape(5, 784, 10, true), new PartitionShape(0, -1, -1, true),
            new PartitionShape(9, 784, 10, true))));
    }

    @Test
    void masksOrOtherShapesOrDifferentWidthsOrNoDataHaveNoCommonWidths()
    {
        assertNull(PartitionShape.commonFlatWidths(List.of(new PartitionShape(5, 784, 10, true),
            new PartitionShape(3, -1, -1, false))));
        assertNull(PartitionShape.commonFlatWidths(List.of(new PartitionShape(5, 784, 10, true),
            new PartitionShape(3, 783, 10, true))));
        assertNull(PartitionShape.commonFlatWidths(List.of(new PartitionShape(5, 784, 10, true),
            new PartitionShape(3, 784, 9, true))));
        assertNull(PartitionShape.commonFlatWidths(List.of(new PartitionShape(0, -1, -1, true))));
    }
}
