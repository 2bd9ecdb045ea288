package io.paratrain.sparktrainer.internal.snapshot;

import io.paratrain.sparktrainer.job.ModelSource;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.DropoutLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.Nesterovs;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.nd4j.linalg.schedule.ExponentialSchedule;
import org.nd4j.linalg.schedule.ScheduleType;
import org.nd4j.shade.jackson.annotation.JsonIgnore;

import java.io.IOException;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NetworkConfigurationTest
{
    private static MultiLayerConfiguration varied()
    {
        return new NeuralNetConfiguration.Builder().seed(7).dataType(DataType.FLOAT)
            .updater(new Nesterovs(new ExponentialSchedule(ScheduleType.ITERATION, 0.1, 0.99), 0.9))
            .l2(1e-4).weightDecay(1e-5).list()
            .layer(new DenseLayer.Builder().nIn(12).nOut(8).activation(Activation.TANH).dropOut(0.8).build())
            .layer(new DropoutLayer.Builder(0.9).build())
            .layer(new DenseLayer.Builder().nIn(8).nOut(6).activation(Activation.LEAKYRELU).build())
            .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(6).nOut(3)
                .activation(Activation.SOFTMAX).build())
            .build();
    }

    @Test
    void javaSerializedConfigurationsComeBackEqualToTheirJson()
    {
        for (final MultiLayerConfiguration original : new MultiLayerConfiguration[] {varied(),
            ModelSource.mlp(784, new int[] {1000, 500}, 10, new Adam(1e-3), 42)})
        {
            final NetworkConfiguration configuration = NetworkConfiguration.of(original);
            assertTrue(configuration.javaSerialized(), "these DL4J configurations are Java-serializable");
            assertEquals(original.toJson(), configuration.build().toJson());
            assertEquals(original.toJson(), configuration.json());
        }
    }

    @Test
    void laterChangesToTheConfigurationObjectDoNotShow()
    {
        final MultiLayerConfiguration original = varied();
        final NetworkConfiguration configuration = NetworkConfiguration.of(original);
        final String before = original.toJson();
        original.setIterationCount(1234);
        assertEquals(before, configuration.json());
    }

    @Test
    void aConfigurationThatIsNotJavaSerializableTravelsAsJson() throws IOException
    {
        final MultiLayerConfiguration original = new WithUserState();
        original.setConfs(varied().getConfs());
        final NetworkConfiguration configuration = NetworkConfiguration.of(original);
        assertFalse(configuration.javaSerialized());
        assertEquals(original.toJson(), configuration.build().toJson());
        final ModelSnapshot snapshot = new ModelSnapshot(configuration, new float[] {1, 2}, null, 3, 4);
        assertEquals(original.toJson(), SnapshotCodec.read(SnapshotCodec.encode(snapshot)).configuration().json());
    }

    @Test
    void snapshotsRoundTripThroughTheCodecBitForBit() throws IOException
    {
        final float[] parameters = {Float.NaN, -0.0f, Float.MIN_VALUE, Float.MAX_VALUE, 1.5f};
        final float[] state = new float[600_001]; // more than one of the codec's blocks
        for (int i = 0; i < state.length; i++)
        {
            state[i] = (float)Math.sin(i);
        }
        final ModelSnapshot snapshot = new ModelSnapshot(NetworkConfiguration.of(varied()), parameters, state, 17,
            2);
        final byte[] bytes = SnapshotCodec.encode(snapshot);
        assertEquals(SnapshotCodec.length(snapshot), bytes.length);
        final ModelSnapshot back = SnapshotCodec.read(bytes);
        assertArrayEquals(rawBits(parameters), rawBits(back.parameters()));
        assertArrayEquals(state, back.updaterState());
        assertEquals(17, back.iterationCount());
        assertEquals(2, back.epochCount());
        assertEquals(varied().toJson(), back.configuration().json());

        final ModelSnapshot noState = new ModelSnapshot(NetworkConfiguration.ofJson("{}"), parameters, null, 0, 0);
        assertNull(SnapshotCodec.read(SnapshotCodec.encode(noState)).updaterState());
    }

    @Test
    void damagedSnapshotBytesAreRefused()
    {
        final ModelSnapshot snapshot = new ModelSnapshot(NetworkConfiguration.ofJson("{}"), new float[1000],
            new float[2000], 1, 1);
        final byte[] bytes = SnapshotCodec.encode(snapshot);
        final IOException truncated = assertThrows(IOException.class,
            () -> SnapshotCodec.read(Arrays.copyOf(bytes, bytes.length - 1)));
        assertTrue(truncated.getMessage().contains("truncated"), truncated.getMessage());
        assertThrows(IOException.class, () -> SnapshotCodec.read(Arrays.copyOf(bytes, bytes.length + 1)));
        final byte[] wrongMagic = bytes.clone();
        wrongMagic[0] ^= 1;
        assertThrows(IOException.class, () -> SnapshotCodec.read(wrongMagic));
        final byte[] hugeCount = bytes.clone();
        // the parameter count follows magic, two counters and the configuration (kind, length, "{}")
        final int countAt = 3 * Integer.BYTES + 1 + Integer.BYTES + 2;
        hugeCount[countAt] = 0x7f;
        final IOException tooMany = assertThrows(IOException.class, () -> SnapshotCodec.read(hugeCount));
        assertTrue(tooMany.getMessage().contains("does not fit"), tooMany.getMessage());
    }

    private static int[] rawBits(final float[] values)
    {
        final int[] bits = new int[values.length];
        for (int i = 0; i < values.length; i++)
        {
            bits[i] = Float.floatToRawIntBits(values[i]);
        }
        return bits;
    }

    /** A user's configuration subclass with a field Java serialization cannot write (JSON leaves it out). */
    private static final class WithUserState extends MultiLayerConfiguration
    {
        @JsonIgnore
        private final Object lock = new Object();
    }
}
