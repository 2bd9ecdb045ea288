package io.paratrain.sparktrainer.internal.checkpoint;

import io.paratrain.sparktrainer.CheckpointConfig;
import io.paratrain.sparktrainer.internal.data.ExamplePlan;
import io.paratrain.sparktrainer.internal.snapshot.ModelSnapshot;
import io.paratrain.sparktrainer.internal.snapshot.NetworkModel;
import org.apache.hadoop.conf.Configuration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.nio.ByteBuffer;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A rank of a retried attempt reads the newest checkpoint once: on a cluster its starting model is restored from
 * that checkpoint ({@code BarrierScope.startingModel}: {@link NewestCheckpoint#read}) and
 * {@link ReplicaCheckpoints#resume} applies the same one. Before, resume read it again: two reads of the whole
 * model with its updater state per rank.
 */
class RetriedAttemptReadsTest
{
    private static final ExamplePlan PLAN = new ExamplePlan(64, 2, 8);

    @TempDir
    Path dir;
    private String folder;
    private CheckpointConfig config;
    private MultiLayerNetwork saved;

    @BeforeEach
    void twoCheckpoints()
    {
        folder = CountingReadsFileSystem.SCHEME + ":" + dir;
        config = new CheckpointConfig(folder, 4, 2, false);
        final CheckpointStore store = new CheckpointStore(folder, 2, new Configuration());
        final MultiLayerNetwork older = network(1);
        saved = network(2);
        store.write(new Checkpoint(0, 1, 1, PLAN, ModelSnapshot.of(older), new long[] {1, 2, 3, 4}));
        store.write(new Checkpoint(0, 2, 2, PLAN, ModelSnapshot.of(saved), new long[] {5, 6, 7, 8}));
        CountingReadsFileSystem.takeReadsIn(dir.toString());
    }

    @Test
    void rankZeroRestoringFromTheCheckpointReadsItOnce()
    {
        final NewestCheckpoint newest = NewestCheckpoint.of(config);
        final NetworkModel network = newest.read().orElseThrow().model().restoreModel();
        final ReplicaCheckpoints.Position position = new ReplicaCheckpoints(config, PLAN,
            mine -> new byte[][] {mine, step(-1)}, 0, 2).resume(true, network, newest);
        assertEquals(new ReplicaCheckpoints.Position(0, 2, 2), position);
        assertEquals(1, CountingReadsFileSystem.takeReadsIn(dir.toString()), "checkpoint reads of rank 0");
        assertArrayEquals(saved.params().toFloatVector(), network.params().toFloatVector());
    }

    @Test
    void anotherRankRestoringFromTheCheckpointReadsItOnce()
    {
        final NewestCheckpoint newest = NewestCheckpoint.of(config);
        final NetworkModel network = newest.read().orElseThrow().model().restoreModel();
        final ReplicaCheckpoints.Position position = new ReplicaCheckpoints(config, PLAN,
            mine -> new byte[][] {step(2), mine}, 1, 2).resume(true, network, newest);
        assertEquals(new ReplicaCheckpoints.Position(0, 2, 2), position);
        assertEquals(1, CountingReadsFileSystem.takeReadsIn(dir.toString()), "checkpoint reads of rank 1");
        assertArrayEquals(saved.params().toFloatVector(), network.params().toFloatVector());
    }

    /** In local mode the starting model comes from the driver's JVM: resume reads the checkpoint rank 0 chose. */
    @Test
    void aRankRestoringFromTheInitialModelReadsTheChosenCheckpointOnce()
    {
        final NetworkModel network = NetworkModel.of(network(3));
        final ReplicaCheckpoints.Position position = new ReplicaCheckpoints(config, PLAN,
            mine -> new byte[][] {step(1), mine}, 1, 2).resume(true, network, NewestCheckpoint.of(config));
        assertEquals(new ReplicaCheckpoints.Position(0, 1, 1), position);
        assertEquals(1, CountingReadsFileSystem.takeReadsIn(dir.toString()), "checkpoint reads of rank 1");
        assertArrayEquals(network(1).params().toFloatVector(), network.params().toFloatVector());
    }

    private static byte[] step(final long globalStep)
    {
        return ByteBuffer.allocate(8).putLong(globalStep).array();
    }

    private static MultiLayerNetwork network(final long seed)
    {
        final MultiLayerNetwork network = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(seed)
            .dataType(DataType.FLOAT).updater(new Adam(0.01)).list()
            .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MSE).nIn(3).nOut(2)
                .activation(Activation.IDENTITY).build())
            .build());
        network.init();
        return network;
    }
}
