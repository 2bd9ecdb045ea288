package io.paratrain.sparktrainer.internal.data;

import io.paratrain.sparktrainer.RawBits;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A step's examples cut into replica slices, each merged by {@link MinibatchMerge} and padded to the step's needs:
 * together, bit for bit, the minibatch DL4J's {@code MultiDataSet.merge} builds from all the step's examples.
 */
class TimeSeriesPaddingTest
{
    /**
     * Slices: a masked sequence of length 5 and an unmasked one of length 4 (merged locally to 5, with a mask); an
     * unmasked one of length 7, the step's longest (no mask locally, the step needs one); an unmasked one of length
     * 3 alone. The second input is dense, the labels a time series of the features' lengths.
     */
    @Test
    void slicesPaddedToTheStepEqualDl4jsMergeOfTheWholeStep()
    {
        final List<List<MultiDataSet>> slices = List.of(
            List.of(example(5, true, 1), example(4, false, 2)),
            List.of(example(7, false, 3)),
            List.of(example(3, false, 4)));
        final List<MultiDataSet> all = new ArrayList<>();
        slices.forEach(all::addAll);
        final MultiDataSet expected = org.nd4j.linalg.dataset.MultiDataSet.merge(all);

        final List<MultiDataSet> local = slices.stream().map(MinibatchMerge::merge).toList();
        final int[] step = TimeSeriesPadding.combine(local.stream().map(TimeSeriesPadding::describe)
            .toArray(int[][]::new));
        // lengths of input 0, input 1 (dense), output 0; mask ranks of the same
        assertArrayEquals(new int[] {7, TimeSeriesPadding.NOT_TIME_SERIES, 7, 2, 0, 2}, step);
        final List<MultiDataSet> padded = local.stream().map(slice -> TimeSeriesPadding.pad(slice, step)).toList();

        long from = 0;
        for (final MultiDataSet slice : padded)
        {
            final long to = from + slice.getFeatures(0).size(0);
            assertRows(expected.getFeatures(0), slice.getFeatures(0), from, to, "features 0");
            assertRows(expected.getFeatures(1), slice.getFeatures(1), from, to, "features 1");
            assertRows(expected.getLabels(0), slice.getLabels(0), from, to, "labels");
            assertRows(expected.getFeaturesMaskArray(0), slice.getFeaturesMaskArray(0), from, to, "features mask");
            assertRows(expected.getLabelsMaskArray(0), slice.getLabelsMaskArray(0), from, to, "labels mask");
            assertNull(slice.getFeaturesMaskArray(1));
            from = to;
        }
        assertArrayEquals(new float[] {1, 1, 1, 0, 0, 0, 0}, padded.get(2).getFeaturesMaskArray(0).data().asFloat());
        // the held minibatch is padded again every epoch: padding leaves it as it was (shape included)
        assertArrayEquals(new long[] {2, 3, 5}, local.get(0).getFeatures(0).shape());
        assertArrayEquals(new long[] {2, 5}, local.get(0).getFeaturesMaskArray(0).shape());
        assertArrayEquals(RawBits.of(padded.get(0).getFeatures(0)), RawBits.of(TimeSeriesPadding.pad(local.get(0),
            step).getFeatures(0)));
        assertArrayEquals(new float[] {1, 1, 1, 1, 1, 1, 1}, padded.get(1).getLabelsMaskArray(0).data().asFloat());
    }

    /** Unmasked sequences all of one length: nothing to pad, the minibatch itself; dense data has no time series. */
    @Test
    void aStepOfOneLengthWithoutMasksIsLeftAsItIs()
    {
        final MultiDataSet a = example(6, false, 5);
        final MultiDataSet b = example(6, false, 6);
        final int[] step = TimeSeriesPadding.combine(new int[][] {TimeSeriesPadding.describe(a),
            TimeSeriesPadding.describe(b)});
        assertSame(a, TimeSeriesPadding.pad(a, step));
        assertTrue(TimeSeriesPadding.hasTimeSeries(step));
        final MultiDataSet dense = new org.nd4j.linalg.dataset.MultiDataSet(Nd4j.rand(DataType.FLOAT, 2, 3),
            Nd4j.rand(DataType.FLOAT, 2, 4));
        final int[] denseStep = TimeSeriesPadding.combine(new int[][] {TimeSeriesPadding.describe(dense)});
        assertFalse(TimeSeriesPadding.hasTimeSeries(denseStep));
        assertSame(dense, TimeSeriesPadding.pad(dense, denseStep));
    }

    private static void assertRows(final INDArray expected, final INDArray actual, final long from, final long to,
        final String what)
    {
        final INDArray rows = expected.rank() == 3 ? expected.get(NDArrayIndex.interval(from, to), NDArrayIndex.all(),
            NDArrayIndex.all()) : expected.get(NDArrayIndex.interval(from, to), NDArrayIndex.all());
        assertArrayEquals(rows.shape(), actual.shape(), what);
        assertArrayEquals(RawBits.of(rows.dup('c')), RawBits.of(actual.dup('c')), what + " rows " + from + "-" + to);
        assertTrue(rows.dataType() == actual.dataType(), what + ": " + actual.dataType());
    }

    /** One example: a time series of {@code length} steps, a dense input, time-series labels; masked or not. */
    private static MultiDataSet example(final int length, final boolean masked, final long seed)
    {
        Nd4j.getRandom().setSeed(seed);
        final INDArray mask = masked ? Nd4j.createFromArray(new float[][] {maskOf(length)}) : null;
        return new org.nd4j.linalg.dataset.MultiDataSet(
            new INDArray[] {Nd4j.rand(DataType.FLOAT, 1, 3, length), Nd4j.rand(DataType.FLOAT, 1, 2)},
            new INDArray[] {Nd4j.rand(DataType.FLOAT, 1, 4, length)},
            masked ? new INDArray[] {mask, null} : null, masked ? new INDArray[] {mask.dup()} : null);
    }

    /** Ones but for the last step. */
    private static float[] maskOf(final int length)
    {
        final float[] mask = new float[length];
        for (int t = 0; t < length - 1; t++)
        {
            mask[t] = 1;
        }
        return mask;
    }
}
