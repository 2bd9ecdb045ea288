package io.paratrain.sparktrainer.internal.snapshot;

import io.paratrain.gradientsharing.Nd4jMemory;
import io.paratrain.sparktrainer.exceptions.TrainingInputException;
import org.deeplearning4j.nn.api.Updater;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.IOException;
import java.io.InvalidObjectException;
import java.io.Serial;
import java.io.Serializable;
import java.nio.ByteBuffer;

/**
 * Everything that makes two replicas identical: configuration, parameters, updater state and the iteration and
 * epoch counters the updater's schedules read, of a MultiLayerNetwork or a ComputationGraph (the configuration
 * says which). Shipped to the replicas at the start of a fit and back from rank 0 at its end.
 *
 * @param updaterState null when the network has no updater yet (it has not trained) or its updater keeps no state:
 *                     a network restored from it then starts from its updater's initial state.
 */
public record ModelSnapshot(
    NetworkConfiguration configuration,
    float[] parameters,
    float[] updaterState,
    int iterationCount,
    int epochCount) implements Serializable
{
    public static ModelSnapshot of(final MultiLayerNetwork network)
    {
        return of(NetworkModel.of(network), null);
    }

    public static ModelSnapshot of(final ComputationGraph graph)
    {
        return of(NetworkModel.of(graph), null);
    }

    /**
     * @param configuration the network's configuration when the caller has it already (a replica returning the
     *                      configuration it was built from), or null to copy it from the network.
     */
    public static ModelSnapshot of(final MultiLayerNetwork network, final NetworkConfiguration configuration)
    {
        return of(NetworkModel.of(network), configuration);
    }

    /**
     * @param configuration the model's configuration when the caller has it already, or null to copy it.
     */
    public static ModelSnapshot of(final NetworkModel network, final NetworkConfiguration configuration)
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
        // A network that has not trained yet has no updater: its replicas create the same initial state
        // themselves. Creating it here would cost the fit's start ~200 ms in a fresh JVM and 2x the bytes shipped.
        final Updater updater = network.updater(false);
        final INDArray state = updater == null ? null : updater.getStateViewArray();
        return new ModelSnapshot(configuration != null ? configuration : network.configuration(),
            floats(network.params()),
            state == null ? null : floats(state.castTo(DataType.FLOAT)),
            network.iterationCount(),
            network.epochCount());
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

    /**
     * Writes {@code values} (row-major) into {@code target} in bulk when its memory allows, else through a
     * temporary array: the element path took ~70 ms for a 1.3M-parameter model with Adam state on the driver.
     */
    private static void copyInto(final float[] values, final INDArray target)
    {
        if (target.length() != values.length)
        {
            throw new IllegalArgumentException("snapshot has " + values.length + " values, the network's array " +
                target.length());
        }
        final ByteBuffer bytes = target.dataType() == DataType.FLOAT && target.ordering() == 'c' &&
            Nd4jMemory.isContiguous(target) ? Nd4jMemory.hostBytes(target) : null;
        if (bytes == null)
        {
            target.assign(Nd4j.createFromArray(values).reshape(target.shape()).castTo(target.dataType()));
            return;
        }
        bytes.asFloatBuffer().put(values);
        Nd4jMemory.markHostWritten(target);
    }

    /** A new network in this state; for a snapshot of a MultiLayerNetwork. */
    public MultiLayerNetwork restore()
    {
        final MultiLayerNetwork network = new MultiLayerNetwork(configuration.build());
        network.init(Nd4j.createFromArray(parameters).reshape(1, parameters.length), false);
        applyCountersAndState(NetworkModel.of(network));
        return network;
    }

    /** A new model of the snapshot's type in this state. */
    public NetworkModel restoreModel()
    {
        if (configuration.kind() == ModelKind.MULTI_LAYER)
        {
            return NetworkModel.of(restore());
        }
        final ComputationGraph graph = new ComputationGraph(configuration.buildGraph());
        graph.init(Nd4j.createFromArray(parameters).reshape(1, parameters.length), false);
        final NetworkModel model = NetworkModel.of(graph);
        applyCountersAndState(model);
        return model;
    }

    /** Puts this state into an existing network of the same configuration. */
    public void applyTo(final MultiLayerNetwork network)
    {
        applyTo(NetworkModel.of(network));
    }

    /** Puts this state into an existing model of the same type and configuration. */
    public void applyTo(final NetworkModel network)
    {
        if (network.kind() != configuration.kind())
        {
            throw new IllegalArgumentException("a snapshot of a " + configuration.kind() + " model cannot be " +
                "applied to a " + network.kind() + " model");
        }
        copyInto(parameters, network.params());
        applyCountersAndState(network);
    }

    private void applyCountersAndState(final NetworkModel network)
    {
        final INDArray state = network.updater(true).getStateViewArray();
        if (state != null && updaterState != null)
        {
            copyInto(updaterState, state);
        }
        network.setIterationCount(iterationCount);
        network.setEpochCount(epochCount);
    }

    /**
     * Serialized in {@link SnapshotCodec}'s form, one byte array: Java serialization writes a float[] element by
     * element, which in a fresh JVM (interpreted code) took ~150 ms each way for a 784-1000-500-10 model with Adam
     * state. Applies to the broadcast at the start of a fit and to a model returned through Spark.
     */
    @Serial
    private Object writeReplace()
    {
        return new Encoded(SnapshotCodec.encode(this));
    }

    /** The serialized form of a {@link ModelSnapshot}. */
    private record Encoded(byte[] bytes) implements Serializable
    {
        @Serial
        private Object readResolve() throws InvalidObjectException
        {
            try
            {
                return SnapshotCodec.read(bytes);
            }
            catch (final IOException ex)
            {
                final InvalidObjectException invalid = new InvalidObjectException("unreadable model snapshot: " +
                    ex.getMessage());
                invalid.initCause(ex);
                throw invalid;
            }
        }
    }
}
