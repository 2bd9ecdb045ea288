package io.paratrain.sparktrainer;

import org.deeplearning4j.core.loader.DataSetLoader;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.learning.config.Adam;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A {@code fitPaths} fit reads each exported file's data once: the count before the training reads only the arrays'
 * headers and seeks past their data, the training loads the file. Each file hands its readers exactly its bytes
 * (the training's load) plus everything but its array data (the count's header read); loading it for the count
 * too read twice its bytes.
 */
@Timeout(300)
class FitPathsReadOnceTest
{
    @RegisterExtension
    static final LocalSpark SPARK = new LocalSpark(2);

    @Test
    void fitPathsReadsEachDataSetFilesDataOnce(@TempDir final Path dir) throws IOException
    {
        final List<Path> files = new ArrayList<>();
        final List<Long> dataBytes = new ArrayList<>();
        for (final DataSet batch : ExportedBatches.uneven(Networks.examples(197, 31)))
        {
            final Path file = dir.resolve("batch-" + files.size() + ".bin");
            batch.save(file.toFile());
            files.add(file);
            dataBytes.add(dataBytes(batch.getFeatures(), batch.getLabels(), batch.getFeaturesMaskArray(),
                batch.getLabelsMaskArray()));
        }
        new DataParallelTrainer(SPARK.sc(), TrainerConfig.builder().workers(2).batchSizePerWorker(8).epochs(2)
            .build()).fitPaths(Networks.mlp(new Adam(0.01), 11), SPARK.sc().parallelize(paths(files), 3));
        assertReadOnce(files, dataBytes, "DataSet");
    }

    /** A loader of the user's own cannot be header-read: it loads each file for the count and for the training. */
    @Test
    void aLoaderOfTheUsersOwnLoadsEachFileTwice(@TempDir final Path dir) throws IOException
    {
        final List<DataSet> examples = Networks.examples(60, 37);
        final List<Path> files = new ArrayList<>();
        for (int start = 0; start < examples.size(); start += 20)
        {
            final Path file = dir.resolve("batch-" + files.size() + ".bin");
            DataSet.merge(examples.subList(start, start + 20)).save(file.toFile());
            files.add(file);
        }
        final DataSetLoader own = source ->
        {
            final DataSet loaded = new DataSet();
            try (InputStream in = source.getInputStream())
            {
                loaded.load(in);
            }
            return loaded;
        };
        new DataParallelTrainer(SPARK.sc(), TrainerConfig.builder().workers(2).batchSizePerWorker(8).epochs(1)
            .build()).fitPaths(Networks.mlp(new Adam(0.01), 11), SPARK.sc().parallelize(paths(files), 2), own);
        for (final Path file : files)
        {
            assertEquals(2 * Files.size(file), CountingBytesFileSystem.takeBytesRead(file.toString()),
                "bytes of " + file + " read in one fit");
        }
    }

    @Test
    void fitPathsMultiDataSetReadsEachFilesDataOnce(@TempDir final Path dir) throws IOException
    {
        final List<Path> files = new ArrayList<>();
        final List<Long> dataBytes = new ArrayList<>();
        for (final MultiDataSet batch : ExportedBatches.unevenMulti(MultiDataSets.examples(197, 35, true)))
        {
            final Path file = dir.resolve("multi-" + files.size() + ".bin");
            batch.save(file.toFile());
            files.add(file);
            // an absent mask is saved as the placeholder [-1], whose one element the header read reads
            dataBytes.add(dataBytes(Stream.of(batch.getFeatures(), batch.getLabels(), batch.getFeaturesMaskArrays(),
                batch.getLabelsMaskArrays()).filter(a -> a != null).flatMap(Stream::of).toArray(INDArray[]::new)));
        }
        final ComputationGraph graph = MultiDataSets.graph(new Adam(0.01), 82);
        new DataParallelTrainer(SPARK.sc(), TrainerConfig.builder().workers(2).batchSizePerWorker(8).epochs(2)
            .build()).fitPathsMultiDataSet(graph, SPARK.sc().parallelize(paths(files), 3));
        assertReadOnce(files, dataBytes, "MultiDataSet");
    }

    private static void assertReadOnce(final List<Path> files, final List<Long> dataBytes, final String kind)
        throws IOException
    {
        long totalFileBytes = 0;
        long totalRead = 0;
        for (int i = 0; i < files.size(); i++)
        {
            final long fileBytes = Files.size(files.get(i));
            final long read = CountingBytesFileSystem.takeBytesRead(files.get(i).toString());
            assertEquals(fileBytes + fileBytes - dataBytes.get(i), read, "bytes of " + files.get(i) + " (" +
                fileBytes + " bytes, " + dataBytes.get(i) + " of array data) read in one fit");
            totalFileBytes += fileBytes;
            totalRead += read;
        }
        System.out.printf("FitPathsReadOnceTest: one fit over %d exported %s files of %d bytes in all read %d " +
            "bytes of them (%.2f x; the count's full load read 2.00 x)%n", files.size(), kind, totalFileBytes,
            totalRead, (double)totalRead / totalFileBytes);
    }

    private static List<String> paths(final List<Path> files)
    {
        return files.stream().map(f -> CountingBytesFileSystem.SCHEME + ":" + f).toList();
    }

    /** Bytes of the arrays' elements, as {@code Nd4j.write} stores them (the rest of a file is headers). */
    private static long dataBytes(final INDArray... arrays)
    {
        long bytes = 0;
        for (final INDArray array : arrays)
        {
            bytes += array == null ? 0 : array.length() * array.dataType().width();
        }
        return bytes;
    }
}
