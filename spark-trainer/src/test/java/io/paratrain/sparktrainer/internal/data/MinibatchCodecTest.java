package io.paratrain.sparktrainer.internal.data;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.nio.ByteBuffer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * The shuffle's and the spill file's encoding of a MultiDataSet (or DataSet) gives back every array's shape, type and
 * raw bits.
 */
class MinibatchCodecTest
{
    @Test
    void viewsFOrderAndOtherTypesComeBackWithTheirRawBits()
    {
        Nd4j.getRandom().setSeed(12);
        // rank-3 time series, a view of rows 1..3 of an F-ordered array; a -0.0 and a NaN with a payload
        final INDArray whole = Nd4j.rand(DataType.FLOAT, 'f', 5L, 3L, 4L);
        whole.putScalar(new long[] {1, 0, 0}, -0.0f);
        whole.putScalar(new long[] {2, 1, 3}, Float.intBitsToFloat(0x7fc01234));
        final INDArray features = whole.get(NDArrayIndex.interval(1, 4), NDArrayIndex.all(), NDArrayIndex.all());
        final INDArray labels = Nd4j.rand(DataType.DOUBLE, 3, 2, 4);
        final INDArray labelsMask = Nd4j.create(new float[] {1, 1, 0, 0, 1, 1, 1, 0, 1, 0, 0, 0}, new long[] {3, 4});
        final MultiDataSet batch = Examples.of(new DataSet(features, labels, null, labelsMask));

        final byte[] bytes = MinibatchCodec.encode(batch);
        assertEquals(MinibatchCodec.encodedBytes(batch), bytes.length);
        final ByteBuffer source = ByteBuffer.wrap(bytes);
        final MultiDataSet decoded = MinibatchCodec.decode(source);

        assertEquals(bytes.length, source.position(), "every byte read");
        assertEquals(1, decoded.numFeatureArrays());
        assertEquals(1, decoded.numLabelsArrays());
        assertSameBits(features, decoded.getFeatures(0));
        assertSameBits(labels, decoded.getLabels(0));
        assertNull(decoded.getFeaturesMaskArrays());
        assertSameBits(labelsMask, decoded.getLabelsMaskArray(0));
    }

    @Test
    void aRunOfTimeSeriesKeepsItsShapesAndBothMasks()
    {
        final INDArray features = Nd4j.rand(DataType.FLOAT, 5, 3, 7).dup('f'); // as DL4J's RNN arrays often are
        final DataSet source = new DataSet(features, Nd4j.rand(DataType.FLOAT, 5, 4, 7),
            Nd4j.rand(DataType.FLOAT, 5, 7), Nd4j.rand(DataType.FLOAT, 5, 7));
        final DataSet run = (DataSet)source.getRange(1, 4);
        final MultiDataSet decoded = MinibatchCodec.decode(ByteBuffer.wrap(MinibatchCodec.encode(Examples.of(run))));
        assertArrayEquals(new long[] {3, 3, 7}, decoded.getFeatures(0).shape());
        assertSameBits(run.getFeatures(), decoded.getFeatures(0));
        assertSameBits(run.getLabels(), decoded.getLabels(0));
        assertSameBits(run.getFeaturesMaskArray(), decoded.getFeaturesMaskArray(0));
        assertSameBits(run.getLabelsMaskArray(), decoded.getLabelsMaskArray(0));
    }

    /** Two inputs (a time series with a mask, an image without) and two outputs: every array in its place. */
    @Test
    void severalInputsAndOutputsComeBackInTheirPlacesWithTheirMasks()
    {
        final INDArray series = Nd4j.rand(DataType.FLOAT, 3, 2, 6);
        final INDArray seriesMask = Nd4j.create(new float[] {1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0},
            new long[] {3, 6});
        final INDArray image = Nd4j.rand(DataType.FLOAT, 3, 1, 4, 4);
        final INDArray classes = Nd4j.rand(DataType.FLOAT, 3, 5);
        final INDArray value = Nd4j.rand(DataType.DOUBLE, 3, 1);
        final MultiDataSet batch = new org.nd4j.linalg.dataset.MultiDataSet(new INDArray[] {series, image},
            new INDArray[] {classes, value}, new INDArray[] {seriesMask, null}, null);

        final byte[] bytes = MinibatchCodec.encode(batch);
        assertEquals(MinibatchCodec.encodedBytes(batch), bytes.length);
        final MultiDataSet decoded = MinibatchCodec.decode(ByteBuffer.wrap(bytes));

        assertEquals(2, decoded.numFeatureArrays());
        assertEquals(2, decoded.numLabelsArrays());
        assertSameBits(series, decoded.getFeatures(0));
        assertSameBits(image, decoded.getFeatures(1));
        assertSameBits(classes, decoded.getLabels(0));
        assertSameBits(value, decoded.getLabels(1));
        assertSameBits(seriesMask, decoded.getFeaturesMaskArray(0));
        assertNull(decoded.getFeaturesMaskArray(1));
        assertNull(decoded.getLabelsMaskArrays());
    }

    private static void assertSameBits(final INDArray expected, final INDArray actual)
    {
        assertEquals(expected.dataType(), actual.dataType());
        assertArrayEquals(expected.shape(), actual.shape());
        final INDArray want = expected.dup('c');
        final INDArray got = actual.dup('c');
        for (long i = 0; i < want.length(); i++)
        {
            if (want.dataType() == DataType.DOUBLE)
            {
                assertEquals(Double.doubleToRawLongBits(want.getDouble(i)),
                    Double.doubleToRawLongBits(got.getDouble(i)), "element " + i);
            }
            else
            {
                assertEquals(Float.floatToRawIntBits(want.getFloat(i)), Float.floatToRawIntBits(got.getFloat(i)),
                    "element " + i);
            }
        }
    }
}
