package io.paratrain.sparktrainer.internal;

import io.paratrain.sparktrainer.exceptions.TrainingInputException;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.Serializable;

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
            network.params().toFloatVector(),
            state == null ? null : state.castTo(DataType.FLOAT).toFloatVector(),
            network.getIterationCount(),
            network.getEpochCount());
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
}
