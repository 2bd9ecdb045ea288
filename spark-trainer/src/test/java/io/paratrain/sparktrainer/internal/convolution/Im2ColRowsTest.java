package io.paratrain.sparktrainer.internal.convolution;

import io.paratrain.sparktrainer.RawBits;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.memory.conf.WorkspaceConfiguration;
import org.nd4j.linalg.api.memory.enums.AllocationPolicy;
import org.nd4j.linalg.api.memory.enums.LearningPolicy;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.shape.Shape;
import org.nd4j.linalg.convolution.Convolution;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class Im2ColRowsTest
{
    private static final WorkspaceConfiguration WORKSPACE = WorkspaceConfiguration.builder()
        .initialSize(1 << 20).policyAllocation(AllocationPolicy.STRICT).policyLearning(LearningPolicy.NONE).build();

    /**
     * The matrix handed back for an unchanged input is rebuilt when the input's memory holds new values: a second
     * minibatch created in the same workspace gets the first one's address (as DL4J's layer activations do from
     * step to step), and an array changed in place stays the same object. A cache keyed on the array or its
     * address would return the first minibatch's matrix for both; each result here is compared bit for bit with
     * DL4J's own im2col op on the same values.
     */
    @Test
    void rebuildsWhenTheSameMemoryHoldsANewInput()
    {
        final Im2ColRows im2col = new Im2ColRows();
        final Random random = new Random(5);
        final long firstAddress;
        try (MemoryWorkspace step = Nd4j.getWorkspaceManager().getAndActivateWorkspace(WORKSPACE, "im2col-test"))
        {
            final INDArray first = randomInput(random);
            firstAddress = first.data().address();
            assertMatchesDl4j(first, im2col.rows(first, geometry(first)), "first minibatch");
            assertEquals(1, im2col.builds());
            assertMatchesDl4j(first, im2col.rows(first, geometry(first)), "first minibatch again");
            assertEquals(1, im2col.builds(), "the unchanged input's matrix is handed back");
        }
        try (MemoryWorkspace step = Nd4j.getWorkspaceManager().getAndActivateWorkspace(WORKSPACE, "im2col-test"))
        {
            final INDArray second = randomInput(random);
            assertEquals(firstAddress, second.data().address(), "the workspace gave the second minibatch the " +
                "first one's memory");
            assertMatchesDl4j(second, im2col.rows(second, geometry(second)), "second minibatch, same memory");
            assertEquals(2, im2col.builds());

            second.putScalar(new long[] {1, 1, 3, 4}, 0.25f);
            assertMatchesDl4j(second, im2col.rows(second, geometry(second)), "same array, one value changed");
            assertEquals(3, im2col.builds());
            assertMatchesDl4j(second, im2col.rows(second, geometry(second)), "same array, unchanged since");
            assertEquals(3, im2col.builds());
        }
    }

    /** A view of the same values in another geometry (here: a smaller minibatch) is not the same matrix. */
    @Test
    void rebuildsForAnotherGeometryOfTheSameValues()
    {
        final Im2ColRows im2col = new Im2ColRows();
        final INDArray input = randomInput(new Random(9));
        assertMatchesDl4j(input, im2col.rows(input, geometry(input)), "whole input");
        final INDArray firstExample = input.get(NDArrayIndex.interval(0, 1));
        assertMatchesDl4j(firstExample, im2col.rows(firstExample, geometry(firstExample)), "first example");
        assertEquals(2, im2col.builds());
    }

    /** [3, 2, 6, 5] floats in [-0.5, 0.5), created in the current workspace (if any). */
    private static INDArray randomInput(final Random random)
    {
        final float[] values = new float[3 * 2 * 6 * 5];
        for (int i = 0; i < values.length; i++)
        {
            values[i] = random.nextFloat() - 0.5f;
        }
        return Nd4j.create(values, new long[] {3, 2, 6, 5}, 'c');
    }

    /** 3x2 kernel, stride (1, 2), padding (1, 1), no dilation, 4 output channels. */
    private static ConvGeometry geometry(final INDArray input)
    {
        return ConvGeometry.of(input, Nd4j.create(DataType.FLOAT, 4, input.size(1), 3, 2), new int[] {1, 2},
            new int[] {1, 1}, new int[] {1, 1});
    }

    /** DL4J 1.0.0-M2's ConvolutionLayer's im2col: the op writing through a permuted view, read as 2D rows. */
    private static void assertMatchesDl4j(final INDArray input, final INDArray rows, final String what)
    {
        final ConvGeometry g = geometry(input);
        final INDArray col = Nd4j.createUninitialized(DataType.FLOAT,
            new long[] {g.miniBatch(), g.outH(), g.outW(), g.inDepth(), g.kH(), g.kW()}, 'c');
        Convolution.im2col(input, g.kH(), g.kW(), g.strideH(), g.strideW(), g.padH(), g.padW(), g.dilationH(),
            g.dilationW(), false, col.permute(0, 3, 4, 5, 1, 2));
        final INDArray expected = Shape.newShapeNoCopy(col, new long[] {g.rowCount(), g.rowLength()}, false);
        assertArrayEquals(RawBits.of(expected), RawBits.of(rows), what);
    }
}
