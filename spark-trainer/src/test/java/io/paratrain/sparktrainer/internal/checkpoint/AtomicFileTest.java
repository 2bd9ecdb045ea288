package io.paratrain.sparktrainer.internal.checkpoint;

import io.paratrain.sparktrainer.internal.data.ExamplePlan;
import io.paratrain.sparktrainer.internal.snapshot.ModelSnapshot;

import io.paratrain.sparktrainer.job.ModelOutput;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.io.IOException;
import java.nio.file.Files;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The model output and the checkpoints replace an existing file in one rename: the old file stays readable until
 * the new one takes its name. The file system here refuses to delete any file that is not a hidden temporary one,
 * so a delete-then-rename replacement (which leaves a moment with no file) fails.
 */
class AtomicFileTest
{
    /** The local file system, except that deleting a visible file (not {@code .<name>.tmp-...}) is refused. */
    public static final class NoVisibleDeleteFileSystem extends RawLocalFileSystem
    {
        @Override
        public boolean delete(final Path path, final boolean recursive) throws IOException
        {
            if (!path.getName().startsWith("."))
            {
                throw new IOException("refused: delete of " + path + " (a reader would find no file)");
            }
            return super.delete(path, recursive);
        }
    }

    @TempDir
    java.nio.file.Path dir;

    private static Configuration refusingVisibleDeletes()
    {
        final Configuration hadoop = new Configuration(false);
        hadoop.set("fs.file.impl", NoVisibleDeleteFileSystem.class.getName());
        hadoop.setBoolean("fs.file.impl.disable.cache", true);
        return hadoop;
    }

    private static MultiLayerNetwork network(final double bias)
    {
        final MultiLayerNetwork network = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(1)
            .dataType(DataType.FLOAT).updater(new Sgd(0.1)).list()
            .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MSE).nIn(3).nOut(2)
                .activation(Activation.IDENTITY).build())
            .build());
        network.init();
        network.getLayer(0).getParam("b").assign(bias);
        return network;
    }

    private List<String> files() throws IOException
    {
        try (var entries = Files.list(dir))
        {
            return entries.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void theModelOutputReplacesAnExistingModelWithoutDeletingItFirst() throws Exception
    {
        final String target = dir.resolve("model.zip").toString();
        ModelOutput.write(network(1), target, refusingVisibleDeletes());
        ModelOutput.write(network(2), target, refusingVisibleDeletes());

        final MultiLayerNetwork read = ModelSerializer.restoreMultiLayerNetwork(target);
        assertArrayEquals(network(2).params().toFloatVector(), read.params().toFloatVector());
        assertEquals(List.of("model.zip"), files(), "no temporary or .crc file left beside the model");
    }

    @Test
    void aCheckpointWrittenAgainUnderItsNameReplacesTheOldOneInOneRename() throws Exception
    {
        final CheckpointStore store = new CheckpointStore(dir.toString(), 10, refusingVisibleDeletes());
        final ExamplePlan plan = new ExamplePlan(240, 2, 8);
        store.write(new Checkpoint(0, 3, 3, plan, ModelSnapshot.of(network(1)), new long[] {1, 2, 3, 4}));
        store.write(new Checkpoint(0, 3, 3, plan, ModelSnapshot.of(network(2)), new long[] {5, 6, 7, 8}));

        final Checkpoint read = store.read(3);
        assertArrayEquals(new long[] {5, 6, 7, 8}, read.randomState());
        assertEquals(List.of(CheckpointStore.fileName(3)), files());
    }

    @Test
    void aWriteThatFailsLeavesTheOldFileAndNoTemporaryOne() throws Exception
    {
        final Path target = new Path(dir.resolve("model.zip").toString());
        final Configuration hadoop = new Configuration();
        AtomicFile.write(AtomicFile.fileSystemOf(target, hadoop), target, hadoop, out -> out.write(new byte[] {1, 2}));
        final IOException failure = assertThrows(IOException.class, () -> AtomicFile.write(
            AtomicFile.fileSystemOf(target, hadoop), target, hadoop, out ->
            {
                out.write(new byte[] {9, 9, 9});
                throw new IOException("disk full (simulated)");
            }));
        assertEquals("disk full (simulated)", failure.getMessage());
        assertArrayEquals(new byte[] {1, 2}, Files.readAllBytes(dir.resolve("model.zip")));
        assertEquals(List.of("model.zip"), files());
    }
}
