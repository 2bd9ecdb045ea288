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
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

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
}
