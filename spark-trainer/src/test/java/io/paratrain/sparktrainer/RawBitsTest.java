package io.paratrain.sparktrainer;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.opentest4j.AssertionFailedError;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The bitwise assertion catches what {@code INDArray.equals} lets through. */
class RawBitsTest
{
    @Test
    void oneUlpApartIsEqualForINDArrayEqualsButNotForRawBits()
    {
        final INDArray expected = Nd4j.createFromArray(new float[][] {{1f, 2f}, {3f, 4f}});
        final INDArray actual = expected.dup();
        actual.putScalar(1, 0, Math.nextUp(3f));
        assertEquals(expected, actual, "INDArray.equals allows 1e-5");
        final AssertionFailedError error = assertThrows(AssertionFailedError.class,
            () -> RawBits.assertSameBits(expected, actual, "probe"));
        assertTrue(error.getMessage().startsWith("probe: 1 of 4 elements differ in their raw bits; the first is " +
            "element 2: expected 3.0 (0x40400000), was 3.0000002 (0x40400001)"), error.getMessage());
    }

    @Test
    void signedZerosDifferAndAViewComparesInItsOwnOrder()
    {
        assertThrows(AssertionFailedError.class, () -> RawBits.assertSameBits(
            Nd4j.createFromArray(0f, 1f), Nd4j.createFromArray(-0f, 1f), "zeros"));
        final INDArray matrix = Nd4j.createFromArray(new float[][] {{1f, 2f}, {3f, 4f}});
        RawBits.assertSameBits(Nd4j.createFromArray(new float[][] {{1f, 3f}, {2f, 4f}}), matrix.transpose(), "view");
    }
}
