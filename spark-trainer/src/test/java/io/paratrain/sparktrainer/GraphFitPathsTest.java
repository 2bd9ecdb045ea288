package io.paratrain.sparktrainer;

import io.paratrain.sparktrainer.dl4j.AllReduceTrainingMaster;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.spark.impl.graph.SparkComputationGraph;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.learning.config.Adam;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A ComputationGraph's {@code fitPaths}: DataSets exported with {@code DataSet.save} and MultiDataSets exported with
 * {@code MultiDataSet.save} train as the same examples in memory, bit for bit, through {@link DataParallelTrainer}
 * and through the drop-in's {@code SparkComputationGraph.fitPaths} and {@code fitPathsMultiDataSet}.
 */
@Timeout(300)
class GraphFitPathsTest
{
    @RegisterExtension
    static final LocalSpark SPARK = new LocalSpark(2);

    @Test
    void graphFitPathsTrainsBitForBitAsFitOnTheSameDataSets(@TempDir final Path dir)
    {
        final List<DataSet> batches = ExportedBatches.uneven(Networks.examples(197, 33));
        final List<String> paths = ExportedBatches.save(batches, dir);
        final TrainerConfig config = TrainerConfig.builder().workers(2).batchSizePerWorker(8).epochs(2).build();
        final ComputationGraph initial = Graphs.residual(new Adam(0.01), 81, 1);
        final ComputationGraph inMemory = initial.clone();
        final ComputationGraph fromFiles = initial.clone();

        new DataParallelTrainer(SPARK.sc(), config).fit(inMemory, SPARK.sc().parallelize(batches, 3));
        new DataParallelTrainer(SPARK.sc(), config).fitPaths(fromFiles, SPARK.sc().parallelize(paths, 3));

        assertTrue(inMemory.params().sub(initial.params()).norm2Number().doubleValue() > 1e-2, "training moved");
        assertSameGraph(inMemory, fromFiles, "fitPaths against fit");
    }

    @Test
    void graphFitPathsMultiDataSetTrainsBitForBitAsFitMultiDataSet(@TempDir final Path dir)
    {
        final List<MultiDataSet> batches = unevenMultiDataSets();
        final List<String> paths = ExportedBatches.saveMulti(batches, dir);
        final TrainerConfig config = TrainerConfig.builder().workers(2).batchSizePerWorker(8).epochs(2).build();
        final ComputationGraph initial = MultiDataSets.graph(new Adam(0.01), 82);
        final ComputationGraph inMemory = initial.clone();
        final ComputationGraph fromFiles = initial.clone();
        final ComputationGraph fromFilesSpilled = initial.clone();

        new DataParallelTrainer(SPARK.sc(), config).fitMultiDataSet(inMemory, SPARK.sc().parallelize(batches, 3));
        new DataParallelTrainer(SPARK.sc(), config).fitPathsMultiDataSet(fromFiles, SPARK.sc().parallelize(paths, 3));
        new DataParallelTrainer(SPARK.sc(), TrainerConfig.builder().workers(2).batchSizePerWorker(8).epochs(2)
            .spillAboveBytes(TrainerConfig.SPILL_ALWAYS).build())
            .fitPathsMultiDataSet(fromFilesSpilled, SPARK.sc().parallelize(paths, 3));

        assertTrue(inMemory.params().sub(initial.params()).norm2Number().doubleValue() > 1e-2, "training moved");
        assertSameGraph(inMemory, fromFiles, "fitPathsMultiDataSet against fitMultiDataSet");
        assertSameGraph(inMemory, fromFilesSpilled, "fitPathsMultiDataSet with spilling against fitMultiDataSet");
        assertEquals(List.of(), SpillFilesFound.now(), "spill files left");
    }

    /** The drop-in's {@code SparkComputationGraph.fitPaths} and {@code fitPathsMultiDataSet} (refused before). */
    @Test
    void theTrainingMasterTrainsAGraphFromPathsAsFromMemory(@TempDir final Path dir)
    {
        final TrainerConfig config = TrainerConfig.builder().epochs(1).workers(2).batchSizePerWorker(8).build();
        final List<MultiDataSet> multi = unevenMultiDataSets();
        final List<String> multiPaths = ExportedBatches.saveMulti(multi, dir.resolve("multi"));
        final ComputationGraph initial = MultiDataSets.graph(new Adam(0.01), 83);
        final SparkComputationGraph fromData = new SparkComputationGraph(SPARK.sc(), initial.clone(),
            new AllReduceTrainingMaster(config));
        final SparkComputationGraph fromPaths = new SparkComputationGraph(SPARK.sc(), initial.clone(),
            new AllReduceTrainingMaster(config));

        fromData.fitMultiDataSet(SPARK.sc().parallelize(multi, 3));
        fromPaths.fitPathsMultiDataSet(SPARK.sc().parallelize(multiPaths, 3));

        assertSameGraph(fromData.getNetwork(), fromPaths.getNetwork(), "SparkComputationGraph.fitPathsMultiDataSet");
        assertEquals(1, fromPaths.getNetwork().getEpochCount(), "epochs counted by fitPathsMultiDataSet");
        assertEquals(fromData.getScore(), fromPaths.getScore());

        final List<DataSet> single = ExportedBatches.uneven(Networks.examples(197, 33));
        final List<String> singlePaths = ExportedBatches.save(single, dir.resolve("single"));
        final ComputationGraph graph = Graphs.residual(new Adam(0.01), 84, 1);
        final SparkComputationGraph graphFromData = new SparkComputationGraph(SPARK.sc(), graph.clone(),
            new AllReduceTrainingMaster(config));
        final SparkComputationGraph graphFromPaths = new SparkComputationGraph(SPARK.sc(), graph.clone(),
            new AllReduceTrainingMaster(config));
        graphFromData.fit(SPARK.sc().parallelize(single, 3));
        graphFromPaths.fitPaths(SPARK.sc().parallelize(singlePaths, 3));
        assertSameGraph(graphFromData.getNetwork(), graphFromPaths.getNetwork(), "SparkComputationGraph.fitPaths");
        assertEquals(1, graphFromPaths.getNetwork().getEpochCount(), "epochs counted by fitPaths");
    }

    /** Parameters, updater state and DL4J's iteration and epoch counters, raw bits. */
    private static void assertSameGraph(final ComputationGraph expected, final ComputationGraph actual,
        final String what)
    {
        RawBits.assertSameBits(expected.params(), actual.params(), what + ", parameters");
        RawBits.assertSameBits(expected.getUpdater().getStateViewArray(), actual.getUpdater().getStateViewArray(),
            what + ", updater state");
        assertEquals(expected.getIterationCount(), actual.getIterationCount(), what + ": iteration count");
        assertEquals(expected.getEpochCount(), actual.getEpochCount(), what + ": epoch count");
    }

    /** 197 examples (series of different lengths) in MultiDataSets of uneven sizes. */
    private static List<MultiDataSet> unevenMultiDataSets()
    {
        return ExportedBatches.unevenMulti(MultiDataSets.examples(197, 35, true));
    }
}
