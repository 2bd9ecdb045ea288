package io.paratrain.sparktrainer.internal;

import io.paratrain.gradientsharing.internal.Nd4jMemory;
import io.paratrain.sparktrainer.exceptions.TrainingInputException;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.Serial;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Everything that makes two replicas identical: configuration, parameters, updater state and the iteration and
 * epoch counters the updater's schedules read. Shipped to the replicas at the start of a fit and back from rank 0
 * at its end.
 */
public record ModelSnapshot(
    String configurationJson,
    float[] parameters,
    float[] updaterState,
    int iterationCount,
    int epochCount) implements Serializable
{
    public static ModelSnapshot of(final MultiLayerNetwork network)
    {
        if (network.params() == null)
        {
            throw new TrainingInputException("the network is not initialised: call init() before training");
        }
        if (network.params().dataType() != DataType.FLOAT)
        {
            throw new TrainingInputException("parameters are " + network.params().dataType() +
                "; data-parallel training all-reduces float32: build the network with dataType(DataType.FLOAT)");
        }
        final INDArray state = network.getUpdater().getStateViewArray();
        return new ModelSnapshot(network.getLayerWiseConfigurations().toJson(),
            floats(network.params()),
            state == null ? null : floats(state.castTo(DataType.FLOAT)),
            network.getIterationCount(),
            network.getEpochCount());
    }

    /**
     * The elements in row-major order, copied in bulk from ND4J's memory: {@code toFloatVector()} reads them one
     * by one, ~0.4 s for a 1.3M-parameter model with Adam state in a fresh JVM (rank 0 does it once at the end).
     */
    private static float[] floats(final INDArray array)
    {
        final INDArray rowMajor = array.ordering() == 'c' && Nd4jMemory.isContiguous(array) ? array :
            array.dup('c');
        final ByteBuffer bytes = Nd4jMemory.hostBytes(rowMajor);
        if (bytes == null)
        {
            return rowMajor.toFloatVector();
        }
        final float[] values = new float[(int)rowMajor.length()];
        bytes.asFloatBuffer().get(values);
        return values;
    }

    /** A new network in this state. */
    public MultiLayerNetwork restore()
    {
        final MultiLayerNetwork network = new MultiLayerNetwork(MultiLayerConfiguration.fromJson(configurationJson));
        network.init(Nd4j.createFromArray(parameters).reshape(1, parameters.length), false);
        applyCountersAndState(network);
        return network;
    }

    /** Puts this state into an existing network of the same configuration. */
    public void applyTo(final MultiLayerNetwork network)
    {
        network.params().assign(Nd4j.createFromArray(parameters).reshape(network.params().shape()));
        applyCountersAndState(network);
    }

    private void applyCountersAndState(final MultiLayerNetwork network)
    {
        final INDArray state = network.getUpdater().getStateViewArray();
        if (state != null && updaterState != null)
        {
            state.assign(Nd4j.createFromArray(updaterState).reshape(state.shape()).castTo(state.dataType()));
        }
        network.setIterationCount(iterationCount);
        network.setEpochCount(epochCount);
    }

    /**
     * Serialized as raw little-endian bytes: Java serialization writes a float[] element by element, which in a
     * fresh JVM (interpreted code) took ~150 ms each way for a 784-1000-500-10 model with Adam state, a
     * byte[] is one bulk copy. Applies to the broadcast at the start of a fit and to rank 0's result.
     */
    @Serial
    private Object writeReplace()
    {
        return new Bytes(configurationJson, toBytes(parameters), toBytes(updaterState), iterationCount, epochCount);
    }

    private static byte[] toBytes(final float[] values)
    {
        if (values == null)
        {
            return null;
        }
        final ByteBuffer bytes = ByteBuffer.allocate(values.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        bytes.asFloatBuffer().put(values);
        return bytes.array();
    }

    private static float[] toFloats(final byte[] bytes)
    {
        if (bytes == null)
        {
            return null;
        }
        final float[] values = new float[bytes.length / Float.BYTES];
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(values);
        return values;
    }

    /** The serialized form of a {@link ModelSnapshot}. */
    private record Bytes(String configurationJson, byte[] parameters, byte[] updaterState, int iterationCount,
        int epochCount) implements Serializable
    {
        @Serial
        private Object readResolve()
        {
            return new ModelSnapshot(configurationJson, toFloats(parameters), toFloats(updaterState), iterationCount,
                epochCount);
        }
    }
}
