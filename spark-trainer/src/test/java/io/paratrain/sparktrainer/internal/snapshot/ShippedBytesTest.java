package io.paratrain.sparktrainer.internal.snapshot;

import io.paratrain.sparktrainer.internal.data.PartitionShape;
import io.paratrain.sparktrainer.internal.driver.ModelSender;

import io.paratrain.sparktrainer.RawBits;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import scala.Tuple2;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Each kind of object a fit hands to Spark survives its byte form exactly. */
class ShippedBytesTest
{
    @Test
    void deliveriesKeepTheirDigestOrTheirWholeModel()
    {
        final byte[] digest = new byte[32];
        Arrays.fill(digest, (byte)0x5A);
        final ModelSender.Delivery byDigest = ModelSender.Delivery.decode(
            new ModelSender.Delivery(digest, null).encode());
        assertArrayEquals(digest, byDigest.digest());
        assertNull(byDigest.inline());

        final ModelSnapshot model = trainedSnapshot();
        final ModelSender.Delivery inline = ModelSender.Delivery.decode(
            new ModelSender.Delivery(null, model).encode());
        assertNull(inline.digest());
        assertSame(model, inline.inline());
    }

    @Test
    void aRunOfExamplesKeepsItsIndexArraysAndMasksEvenFromAView()
    {
        final INDArray features = Nd4j.rand(DataType.FLOAT, 6, 5);
        final INDArray labels = Nd4j.rand(DataType.FLOAT, 6, 3);
        final INDArray mask = Nd4j.rand(DataType.FLOAT, 6, 1);
        // a view into a larger array, as a user's getRange gives
        final DataSet run = new DataSet(features.get(NDArrayIndex.interval(2, 5), NDArrayIndex.all()),
            labels.get(NDArrayIndex.interval(2, 5), NDArrayIndex.all()), null,
            mask.get(NDArrayIndex.interval(2, 5), NDArrayIndex.all()));
        assertTrue(run.getFeatures().isView());
        final Tuple2<Long, DataSet> decoded = ShippedBytes.decodeRun(ShippedBytes.encodeRun(1L << 40, run));
        assertEquals(1L << 40, decoded._1());
        assertBits(run.getFeatures(), decoded._2().getFeatures());
        assertBits(run.getLabels(), decoded._2().getLabels());
        assertBits(run.getLabelsMaskArray(), decoded._2().getLabelsMaskArray());
        assertNull(decoded._2().getFeaturesMaskArray());
    }

    @Test
    void aRunOfTimeSeriesKeepsItsShapesAndBothMasks()
    {
        final INDArray features = Nd4j.rand(DataType.FLOAT, 5, 3, 7).dup('f'); // as DL4J's RNN arrays often are
        final DataSet source = new DataSet(features, Nd4j.rand(DataType.FLOAT, 5, 4, 7),
            Nd4j.rand(DataType.FLOAT, 5, 7), Nd4j.rand(DataType.FLOAT, 5, 7));
        final DataSet run = (DataSet)source.getRange(1, 4);
        final DataSet decoded = ShippedBytes.decodeRun(ShippedBytes.encodeRun(9, run))._2();
        assertArrayEquals(new long[] {3, 3, 7}, decoded.getFeatures().shape());
        assertBits(run.getFeatures(), decoded.getFeatures());
        assertBits(run.getLabels(), decoded.getLabels());
        assertBits(run.getFeaturesMaskArray(), decoded.getFeaturesMaskArray());
        assertBits(run.getLabelsMaskArray(), decoded.getLabelsMaskArray());
    }

    @Test
    void partitionShapesTravelAsLongs()
    {
        for (final PartitionShape shape : new PartitionShape[] {new PartitionShape(7, new long[] {2, 784, 2, 10, 0,
            0, 1}, true), new PartitionShape(0, new long[0], true), new PartitionShape(9, new long[] {3, 3, 5, 3, 4, 5,
            2, 5, 2, 5, 1}, false, 3, new long[] {3, 2, 5, 3, 4, 5, 0, 0, 1})})
        {
            assertEquals(shape, PartitionShape.fromLongs(shape.toLongs()));
        }
    }

    @Test
    void anEvaluationKeepsItsCounts()
    {
        final Evaluation evaluation = new Evaluation(3);
        evaluation.eval(Nd4j.createFromArray(new float[][] {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}),
            Nd4j.createFromArray(new float[][] {{0.8f, 0.1f, 0.1f}, {0.6f, 0.3f, 0.1f}, {0.1f, 0.1f, 0.8f}}));
        final Evaluation decoded = ShippedBytes.decodeJava(ShippedBytes.encodeJava(evaluation), Evaluation.class);
        assertEquals(evaluation.stats(false, true), decoded.stats(false, true));
        assertEquals(2, decoded.truePositives().values().stream().mapToInt(Integer::intValue).sum());
    }

    private static ModelSnapshot trainedSnapshot()
    {
        final MultiLayerNetwork network = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(4)
            .dataType(DataType.FLOAT).updater(new Adam(0.01)).list()
            .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(5).nOut(3)
                .activation(Activation.SOFTMAX).build())
            .build());
        network.init();
        network.fit(new DataSet(Nd4j.rand(DataType.FLOAT, 4, 5), Nd4j.eye(3).getRows(0, 1, 2, 0)
            .castTo(DataType.FLOAT)));
        return ModelSnapshot.of(network);
    }

    private static void assertSame(final ModelSnapshot expected, final ModelSnapshot actual)
    {
        assertArrayEquals(RawBits.of(expected.parameters()), RawBits.of(actual.parameters()), "parameters");
        assertArrayEquals(RawBits.of(expected.updaterState()), RawBits.of(actual.updaterState()), "updater state");
        assertEquals(expected.iterationCount(), actual.iterationCount());
        assertEquals(expected.epochCount(), actual.epochCount());
        assertEquals(expected.configuration().build(), actual.configuration().build());
    }

    private static void assertBits(final INDArray expected, final INDArray actual)
    {
        assertArrayEquals(expected.shape(), actual.shape());
        assertArrayEquals(RawBits.of(expected.dup('c').reshape(-1).toFloatVector()),
            RawBits.of(actual.dup('c').reshape(-1)
            .toFloatVector()));
    }
}
