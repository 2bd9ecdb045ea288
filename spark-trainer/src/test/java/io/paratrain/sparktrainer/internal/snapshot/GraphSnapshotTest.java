package io.paratrain.sparktrainer.internal.snapshot;

import io.paratrain.sparktrainer.exceptions.TrainerException;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.io.IOException;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Snapshots of a ComputationGraph: the model type travels with them and a graph comes back as a graph. */
class GraphSnapshotTest
{
    private static ComputationGraph graph(final int outputs)
    {
        final ComputationGraphConfiguration.GraphBuilder builder = new NeuralNetConfiguration.Builder().seed(3)
            .dataType(DataType.FLOAT).updater(new Adam(0.01)).graphBuilder()
            .addInputs("in")
            .addLayer("dense", new DenseLayer.Builder().nIn(5).nOut(6).activation(Activation.TANH).build(), "in")
            .addLayer("bn", new BatchNormalization.Builder().nOut(6).build(), "dense")
            .addVertex("add", new ElementWiseVertex(ElementWiseVertex.Op.Add), "dense", "bn");
        for (int o = 0; o < outputs; o++)
        {
            builder.addLayer("out" + o, new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(6).nOut(3)
                .activation(Activation.SOFTMAX).build(), "add");
        }
        final ComputationGraph graph = new ComputationGraph(builder.setOutputs(outputs == 1 ? new String[] {"out0"} :
            new String[] {"out0", "out1"}).build());
        graph.init();
        return graph;
    }

    @Test
    void aTrainedGraphRoundTripsThroughTheCodecAndRestoresAsAGraphBitForBit() throws IOException
    {
        final ComputationGraph graph = graph(1);
        final DataSet batch = new DataSet(Nd4j.rand(DataType.FLOAT, 4, 5),
            Nd4j.createFromArray(new float[][] {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {1, 0, 0}}));
        graph.fit(batch);
        graph.fit(batch);
        graph.incrementEpochCount();
        final ModelSnapshot snapshot = ModelSnapshot.of(graph);
        assertEquals(ModelKind.GRAPH, snapshot.configuration().kind());
        assertTrue(snapshot.configuration().javaSerialized(), "DL4J's graph configurations are Java-serializable");
        final ModelSnapshot back = SnapshotCodec.read(SnapshotCodec.encode(snapshot));
        assertEquals(ModelKind.GRAPH, back.configuration().kind());
        assertEquals(graph.getConfiguration().toJson(), back.configuration().json());

        final NetworkModel restored = back.restoreModel();
        assertEquals(ModelKind.GRAPH, restored.kind());
        final ComputationGraph copy = (ComputationGraph)restored.network();
        assertArrayEquals(rawBits(graph.params().toFloatVector()), rawBits(copy.params().toFloatVector()));
        assertArrayEquals(rawBits(graph.getUpdater().getStateViewArray().toFloatVector()),
            rawBits(copy.getUpdater().getStateViewArray().toFloatVector()));
        assertEquals(2, copy.getIterationCount());
        assertEquals(1, copy.getEpochCount());

        // applied onto a fresh graph of the same configuration: the same state
        final ComputationGraph fresh = graph(1);
        back.applyTo(NetworkModel.of(fresh));
        assertArrayEquals(rawBits(graph.params().toFloatVector()), rawBits(fresh.params().toFloatVector()));
        assertEquals(2, fresh.getIterationCount());
    }

    @Test
    void aGraphSnapshotDoesNotRestoreAsAMultiLayerNetwork()
    {
        final ModelSnapshot snapshot = ModelSnapshot.of(graph(1));
        final TrainerException asNetwork = assertThrows(TrainerException.class, snapshot::restore);
        assertTrue(asNetwork.getMessage().contains("GRAPH"), asNetwork.getMessage());
        assertEquals(graph(1).getConfiguration().toJson(),
            NetworkConfiguration.ofJson(ModelKind.GRAPH, snapshot.configuration().json()).buildGraph().toJson());
    }

    /**
     * A graph with two outputs is a model like any other (it trains on MultiDataSets); the fit checks that the
     * examples have as many inputs and outputs (MultiDataSetEquivalenceTest).
     */
    @Test
    void aGraphWithTwoOutputsCountsItsInputsAndOutputs()
    {
        final NetworkModel model = NetworkModel.of(graph(2));
        assertEquals(1, model.inputs());
        assertEquals(2, model.outputs());
    }

    /**
     * A MultiLayerNetwork's configuration is written as before graphs were supported (kind byte 0 when
     * Java-serialized, 1 as JSON), so snapshot bytes of earlier builds still read as MultiLayerNetworks.
     */
    @Test
    void aMultiLayerNetworkConfigurationKeepsItsKindBytes() throws IOException
    {
        final ModelSnapshot json = new ModelSnapshot(NetworkConfiguration.ofJson("{}"), new float[] {1}, null, 0, 0);
        final byte[] bytes = SnapshotCodec.encode(json);
        final int kindAt = 3 * Integer.BYTES; // after magic and the two counters
        assertEquals(1, bytes[kindAt]);
        assertEquals(ModelKind.MULTI_LAYER, SnapshotCodec.read(bytes).configuration().kind());
        bytes[kindAt] = 3;
        assertEquals(ModelKind.GRAPH, SnapshotCodec.read(bytes).configuration().kind());
        bytes[kindAt] = 4;
        assertThrows(IOException.class, () -> SnapshotCodec.read(bytes));
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
}
