package io.paratrain.modelsplit;

import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.linalg.factory.Nd4j;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/** The ways a checkpoint may carry a {@link SplitRank#snapshot} to the rank 0 of a new ring. */
enum SnapshotCopy
{
    /** The network {@code snapshot()} returned. */
    AS_IS
    {
        @Override
        MultiLayerNetwork of(final MultiLayerNetwork snapshot)
        {
            return snapshot;
        }
    },
    /** {@code ModelSerializer.writeModel(network, out, true)} and {@code restoreMultiLayerNetwork(in, true)}. */
    MODEL_SERIALIZER
    {
        @Override
        MultiLayerNetwork of(final MultiLayerNetwork snapshot)
        {
            try
            {
                final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
                ModelSerializer.writeModel(snapshot, bytes, true);
                return ModelSerializer.restoreMultiLayerNetwork(new ByteArrayInputStream(bytes.toByteArray()), true);
            }
            catch (final IOException ex)
            {
                throw new UncheckedIOException(ex);
            }
        }
    },
    /**
     * As spark-trainer's checkpoint stores it: parameters and updater state as float[], the configuration as JSON,
     * the iteration and epoch counts; rebuilt with {@code init(params, false)} and the updater's state view.
     */
    FLOAT_ARRAYS
    {
        @Override
        MultiLayerNetwork of(final MultiLayerNetwork snapshot)
        {
            final float[] params = snapshot.params().toFloatVector();
            final float[] state = snapshot.getUpdater().getStateViewArray().toFloatVector();
            final String json = snapshot.getLayerWiseConfigurations().toJson();
            final int iteration = snapshot.getIterationCount();
            final int epoch = snapshot.getEpochCount();

            final MultiLayerNetwork network = new MultiLayerNetwork(MultiLayerConfiguration.fromJson(json));
            network.init(Nd4j.createFromArray(params).reshape(1, params.length), false);
            network.getUpdater().setStateViewArray(network, Nd4j.createFromArray(state).reshape(1, state.length),
                false);
            network.setIterationCount(iteration);
            network.setEpochCount(epoch);
            return network;
        }
    };

    /** The network the new ring's rank 0 starts from. */
    abstract MultiLayerNetwork of(MultiLayerNetwork snapshot);
}
