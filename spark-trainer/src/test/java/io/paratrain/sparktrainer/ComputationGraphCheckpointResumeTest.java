package io.paratrain.sparktrainer;

import io.paratrain.sparktrainer.exceptions.TrainerConfigException;
import io.paratrain.sparktrainer.internal.checkpoint.Checkpoint;
import io.paratrain.sparktrainer.internal.checkpoint.CheckpointStore;
import io.paratrain.sparktrainer.internal.data.ExamplePlan;
import io.paratrain.sparktrainer.internal.snapshot.ModelKind;
import io.paratrain.sparktrainer.internal.snapshot.ModelSnapshot;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaRDD;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.Adam;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.CRC32C;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A ComputationGraph fit (BatchNormalization, a skip connection, dropout) stopped after one epoch and resumed from
 * a mid-epoch checkpoint ends with exactly the parameters, updater state and counters of an uninterrupted fit.
 */
@Timeout(300)
class ComputationGraphCheckpointResumeTest
{
    private static final int WORKERS = 2;
    private static final int BATCH = 8;
    private static final int EXAMPLES = 240; // 15 steps of 16 per epoch
    private static final int EVERY = 4;
    @RegisterExtension
    static final LocalSpark SPARK = new LocalSpark(WORKERS);

    @TempDir
    Path dir;

    /** Dropout draws from ND4J's random generator: resuming must restore each rank's random state too. */
    private static ComputationGraph graph()
    {
        return Graphs.residual(new Adam(0.01), 5, 0.8);
    }

    private static TrainerConfig config(final int epochs, final CheckpointConfig checkpoint)
    {
        return TrainerConfig.builder().workers(WORKERS).batchSizePerWorker(BATCH).epochs(epochs)
            .collectiveTimeoutMs(10_000).checksumEverySteps(5).checkpoint(checkpoint).build();
    }

    @Test
    void aGraphResumedMidEpochEndsExactlyAsAnUninterruptedFit() throws Exception
    {
        final JavaRDD<DataSet> data = SPARK.sc().parallelize(Networks.minibatches(Networks.examples(EXAMPLES, 11), 5),
            3).cache();
        final ComputationGraph uninterrupted = graph();
        new DataParallelTrainer(SPARK.sc(), config(2, null)).fit(uninterrupted, data);

        new DataParallelTrainer(SPARK.sc(), config(1, new CheckpointConfig(dir.toString(), EVERY, 3, false)))
            .fit(graph(), data);
        final CheckpointStore store = new CheckpointStore(dir.toString(), 3, new Configuration());
        assertEquals(List.of(15L, 12L, 8L), store.steps());
        assertEquals(ModelKind.GRAPH, store.read(12).model().configuration().kind());
        // without the end-of-epoch checkpoint the resume starts inside epoch 0, at step 12
        Files.delete(dir.resolve(CheckpointStore.fileName(15)));

        // a fresh graph (other weights) resumed for 2 epochs in all: the checkpoint's state replaces its own
        final ComputationGraph resumed = graph();
        resumed.params().addi(1);
        new DataParallelTrainer(SPARK.sc(), config(2, new CheckpointConfig(dir.toString(), EVERY, 3, true)))
            .fit(resumed, data);

        RawBits.assertSameBits(uninterrupted.params(), resumed.params(), "parameters");
        RawBits.assertSameBits(uninterrupted.getUpdater().getStateViewArray(),
            resumed.getUpdater().getStateViewArray(), "updater state");
        assertEquals(30, resumed.getIterationCount());
        assertEquals(uninterrupted.getIterationCount(), resumed.getIterationCount());
        assertEquals(2, resumed.getEpochCount());
    }

    /**
     * A MultiLayerNetwork's checkpoints are not resumed into a graph: the fit fails on the driver, before the
     * barrier stage, and names the checkpoint.
     */
    @Test
    void aMultiLayerNetworksCheckpointIsNotResumedIntoAGraph()
    {
        final JavaRDD<DataSet> data = SPARK.sc().parallelize(Networks.minibatches(Networks.examples(EXAMPLES, 11), 5),
            3);
        new DataParallelTrainer(SPARK.sc(), config(1, new CheckpointConfig(dir.toString(), 0, 1, false)))
            .fit(Networks.mlp(new Adam(0.01), 3), data);
        final TrainerConfigException refused = assertThrows(TrainerConfigException.class,
            () -> new DataParallelTrainer(SPARK.sc(), config(2, new CheckpointConfig(dir.toString(), 0, 1, true)))
                .fit(graph(), data));
        assertTrue(String.valueOf(refused.getMessage()).contains("checkpoint " + CheckpointStore.fileName(15) +
            " in " + dir + " holds a MULTI_LAYER model, this fit trains a GRAPH model"), refused.toString());
    }

    /**
     * Checkpoints of format 1 (before graphs: no model-type byte) still read, as MultiLayerNetworks; format 2
     * writes the byte. The format-1 bytes are made from a format-2 encoding by taking the byte out again.
     */
    @Test
    void aFormatOneCheckpointStillReadsAsAMultiLayerNetwork()
    {
        final ModelSnapshot model = ModelSnapshot.of(Networks.mlp(new Adam(0.01), 3));
        final byte[] current = new Checkpoint(1, 3, 18, new ExamplePlan(240, 2, 8), model, new long[] {1, 2, 3, 4})
            .encode();
        final int kindAt = 4 * Integer.BYTES + 2 * Long.BYTES + 2 * Integer.BYTES; // after the plan
        assertEquals(2, ByteBuffer.wrap(current, Integer.BYTES, Integer.BYTES).getInt(), "format");
        assertEquals(0, current[kindAt], "model type of a MultiLayerNetwork");

        final ByteArrayOutputStream old = new ByteArrayOutputStream();
        old.write(current, 0, kindAt);
        old.write(current, kindAt + 1, current.length - Long.BYTES - kindAt - 1);
        final byte[] formatOne = old.toByteArray();
        ByteBuffer.wrap(formatOne).putInt(Integer.BYTES, 1);
        final CRC32C crc = new CRC32C();
        crc.update(formatOne);
        final byte[] withCrc = ByteBuffer.allocate(formatOne.length + Long.BYTES).put(formatOne)
            .putLong(crc.getValue()).array();

        final Checkpoint read = Checkpoint.decode(withCrc, "format 1");
        assertEquals(ModelKind.MULTI_LAYER, read.model().configuration().kind());
        assertEquals(18, read.globalStep());
        assertArrayEquals(RawBits.of(model.parameters()), RawBits.of(read.model().parameters()));
        assertEquals(model.configuration().json(), read.model().configuration().json());
    }
}
