package io.paratrain.sparktrainer;

import io.paratrain.sparktrainer.dl4j.AllReduceTrainingMaster;
import io.paratrain.sparktrainer.exceptions.TrainingInputException;
import org.apache.spark.api.java.JavaRDD;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.spark.impl.multilayer.SparkDl4jMultiLayer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.Adam;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** DataSets exported to files ({@code DataSet.save}) train as the same DataSets in memory, bit for bit. */
@Timeout(300)
class FitPathsTest
{
    @RegisterExtension
    static final LocalSpark SPARK = new LocalSpark(2);

    @Test
    void fitPathsTrainsBitForBitAsFitOnTheSameDataSets(@TempDir final Path dir) throws IOException
    {
        final List<DataSet> batches = unevenBatches();
        final List<String> paths = ExportedBatches.save(batches, dir);
        final TrainerConfig config = TrainerConfig.builder().workers(2).batchSizePerWorker(8).epochs(2).build();
        final MultiLayerNetwork initial = Networks.mlp(new Adam(0.01), 11);
        final MultiLayerNetwork inMemory = initial.clone();
        final MultiLayerNetwork fromFiles = initial.clone();
        final MultiLayerNetwork fromFilesSpilled = initial.clone();

        new DataParallelTrainer(SPARK.sc(), config).fit(inMemory, SPARK.sc().parallelize(batches, 3));
        new DataParallelTrainer(SPARK.sc(), config).fitPaths(fromFiles, SPARK.sc().parallelize(paths, 3));
        new DataParallelTrainer(SPARK.sc(), TrainerConfig.builder().workers(2).batchSizePerWorker(8).epochs(2)
            .spillAboveBytes(TrainerConfig.SPILL_ALWAYS).build())
            .fitPaths(fromFilesSpilled, SPARK.sc().parallelize(paths, 3));

        assertTrue(inMemory.params().sub(initial.params()).norm2Number().doubleValue() > 1e-2, "training moved");
        RawBits.assertSameModel(inMemory, fromFiles, "fitPaths against fit");
        RawBits.assertSameModel(inMemory, fromFilesSpilled, "fitPaths with spilling against fit");
        assertEquals(List.of(), SpillFilesFound.now(), "spill files left");
    }

    /** The drop-in's {@code SparkDl4jMultiLayer.fitPaths}: the model and epoch count of its {@code fit}. */
    @Test
    void theTrainingMasterTrainsFromPathsAsFromDataSets(@TempDir final Path dir) throws IOException
    {
        final List<DataSet> batches = unevenBatches();
        final List<String> paths = ExportedBatches.save(batches, dir);
        final TrainerConfig config = TrainerConfig.builder().epochs(1).workers(2).batchSizePerWorker(8).build();
        final MultiLayerNetwork initial = Networks.mlp(new Adam(0.01), 13);
        final SparkDl4jMultiLayer fromData = new SparkDl4jMultiLayer(SPARK.sc(), initial.clone(),
            new AllReduceTrainingMaster(config));
        final SparkDl4jMultiLayer fromPaths = new SparkDl4jMultiLayer(SPARK.sc(), initial.clone(),
            new AllReduceTrainingMaster(config));

        fromData.fit(SPARK.sc().parallelize(batches, 3));
        fromPaths.fitPaths(SPARK.sc().parallelize(paths, 3));

        RawBits.assertSameModel(fromData.getNetwork(), fromPaths.getNetwork(), "SparkDl4jMultiLayer.fitPaths");
        assertEquals(1, fromPaths.getNetwork().getEpochCount(), "epochs counted by fitPaths");
        assertEquals(fromData.getScore(), fromPaths.getScore());
    }

    @Test
    void aMissingFileFailsTheFitNamingItsPath(@TempDir final Path dir) throws IOException
    {
        final List<String> paths = new ArrayList<>(ExportedBatches.save(unevenBatches(), dir));
        final String missing = dir.resolve("batch-missing.bin").toString();
        paths.add(3, missing);
        assertFailsNaming(paths, missing, "java.io.FileNotFoundException");
    }

    @Test
    void aFileThatIsNotAnExportedDataSetFailsTheFitNamingItsPath(@TempDir final Path dir) throws IOException
    {
        final List<String> paths = new ArrayList<>(ExportedBatches.save(unevenBatches(), dir));
        final Path corrupt = dir.resolve("batch-corrupt.csv");
        Files.writeString(corrupt, "0.5,0.25,1\n0.75,0.5,0\n");
        paths.add(5, corrupt.toString());
        assertFailsNaming(paths, corrupt.toString(), "");
    }

    private static void assertFailsNaming(final List<String> paths, final String bad, final String cause)
    {
        final JavaRDD<String> rdd = SPARK.sc().parallelize(paths, 3);
        final DataParallelTrainer trainer = new DataParallelTrainer(SPARK.sc(), TrainerConfig.builder().epochs(1)
            .workers(2).batchSizePerWorker(8).build());
        final TrainingInputException ex = assertThrows(TrainingInputException.class,
            () -> trainer.fitPaths(Networks.mlp(new Adam(0.01), 11), rdd));
        final String expected = "cannot load the exported DataSet " + bad +
            " with SerializedDataSetLoader (expected a file that DataSet.save wrote): " + cause;
        assertTrue(ex.getMessage().startsWith(expected), "expected '" + expected + "...', was: " + ex.getMessage());
    }

    /** 197 examples in minibatches of uneven sizes. */
    private static List<DataSet> unevenBatches()
    {
        return ExportedBatches.uneven(Networks.examples(197, 31));
    }
}
