package io.paratrain.sparktrainer;

import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Assertions for "bitwise", "bit for bit" and "exactly": the raw IEEE bits of every element
 * ({@code Float.floatToRawIntBits}), so -0.0 differs from 0.0 and every NaN payload counts. {@code INDArray.equals}
 * is not one of them: it allows a difference of 1e-5.
 */
public final class RawBits
{
    private RawBits()
    {
    }

    /** The raw bits of every element of a FLOAT array, in C order. */
    public static int[] of(final INDArray array)
    {
        assertEquals(DataType.FLOAT, array.dataType(), "raw bits are compared on FLOAT arrays");
        return of(array.dup('c').data().asFloat());
    }

    /** The raw bits of every value. */
    public static int[] of(final float[] values)
    {
        final int[] bits = new int[values.length];
        for (int i = 0; i < values.length; i++)
        {
            bits[i] = Float.floatToRawIntBits(values[i]);
        }
        return bits;
    }

    /** Same shape and the same raw bits in every element; the message names the first element that differs. */
    public static void assertSameBits(final INDArray expected, final INDArray actual, final String what)
    {
        assertArrayEquals(expected.shape(), actual.shape(), what + ": shape");
        final int[] want = of(expected);
        final int[] got = of(actual);
        for (int i = 0; i < want.length; i++)
        {
            if (want[i] != got[i])
            {
                final long differing = java.util.stream.IntStream.range(0, want.length)
                    .filter(j -> want[j] != got[j]).count();
                fail(what + ": " + differing + " of " + want.length + " elements differ in their raw bits; the first " +
                    "is element " + i + ": expected " + Float.intBitsToFloat(want[i]) + " (0x" +
                    Integer.toHexString(want[i]) + "), was " + Float.intBitsToFloat(got[i]) + " (0x" +
                    Integer.toHexString(got[i]) + ")");
            }
        }
        assertEquals(Arrays.hashCode(want), Arrays.hashCode(got), what);
    }

    /** Parameters, updater state (when either has one) and DL4J's iteration and epoch counters. */
    public static void assertSameModel(final MultiLayerNetwork expected, final MultiLayerNetwork actual,
                                       final String what)
    {
        assertSameBits(expected.params(), actual.params(), what + ", parameters");
        final boolean expectedHasState = expected.getUpdater(false) != null &&
            expected.getUpdater(false).getStateViewArray() != null;
        final boolean actualHasState = actual.getUpdater(false) != null &&
            actual.getUpdater(false).getStateViewArray() != null;
        assertEquals(expectedHasState, actualHasState, what + ": updater state present");
        if (expectedHasState)
        {
            assertSameBits(expected.getUpdater().getStateViewArray(), actual.getUpdater().getStateViewArray(),
                what + ", updater state");
        }
        assertEquals(expected.getIterationCount(), actual.getIterationCount(), what + ": iteration count");
        assertEquals(expected.getEpochCount(), actual.getEpochCount(), what + ": epoch count");
    }
}
