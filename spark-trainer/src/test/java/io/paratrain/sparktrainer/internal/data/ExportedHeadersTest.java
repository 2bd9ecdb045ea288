package io.paratrain.sparktrainer.internal.data;

import io.paratrain.sparktrainer.exceptions.TrainingInputException;
import org.apache.hadoop.conf.Configuration;
import org.deeplearning4j.core.loader.impl.SerializedDataSetLoader;
import org.deeplearning4j.core.loader.impl.SerializedMultiDataSetLoader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;

import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The count's shapes read from an exported file's array headers ({@link ExportedDataSets#headerShape}) equal those
 * of the file loaded in full ({@link ExportedDataSets#loadOne}), for DataSets and MultiDataSets of rank 2, 3 and 4,
 * with and without masks; a file whose headers cannot be read fails naming it.
 */
class ExportedHeadersTest
{
    private static final Configuration CONF = new Configuration();

    @Test
    void dataSetHeadersGiveTheShapesOfTheLoadedDataSet(@TempDir final Path dir) throws IOException
    {
        final DataSet withMeta = new DataSet(random(DataType.FLOAT, 5, 3), random(DataType.FLOAT, 5, 2));
        withMeta.setExampleMetaData(List.<Serializable>of("a", "b", "c", "d", "e"));
        final INDArray same = random(DataType.FLOAT, 4, 6);
        final List<DataSet> dataSets = List.of(
            new DataSet(random(DataType.FLOAT, 7, 12), random(DataType.FLOAT, 7, 4)),
            new DataSet(random(DataType.DOUBLE, 3, 12), random(DataType.FLOAT, 3, 4)),
            new DataSet(random(DataType.FLOAT, 6, 3, 9), random(DataType.FLOAT, 6, 2, 9),
                random(DataType.FLOAT, 6, 9), random(DataType.FLOAT, 6, 9)),
            new DataSet(random(DataType.FLOAT, 6, 3, 9), random(DataType.FLOAT, 6, 2, 9), null,
                random(DataType.FLOAT, 6, 9)),
            new DataSet(random(DataType.FLOAT, 2, 3, 8, 8), random(DataType.FLOAT, 2, 10)),
            new DataSet(random(DataType.FLOAT, 2, 3, 8, 8), random(DataType.FLOAT, 2, 1, 8, 8),
                random(DataType.FLOAT, 2, 1, 8, 8), null),
            (DataSet)new DataSet(random(DataType.FLOAT, 5, 4), random(DataType.FLOAT, 5, 4)).getRange(1, 3),
            new DataSet(same, same),
            withMeta);
        for (int i = 0; i < dataSets.size(); i++)
        {
            final Path file = dir.resolve("ds-" + i + ".bin");
            dataSets.get(i).save(file.toFile());
            final long[] loaded = BatchShapes.of(ExportedDataSets.loadOne(file.toString(),
                new SerializedDataSetLoader(), "DataSet", CONF));
            assertArrayEquals(loaded, headerShape(file, "DataSet"), "DataSet " + i + ", " +
                ExampleLayout.describe(BatchShapes.layout(loaded)));
        }
    }

    @Test
    void multiDataSetHeadersGiveTheShapesOfTheLoadedMultiDataSet(@TempDir final Path dir) throws IOException
    {
        final List<MultiDataSet> multi = List.of(
            new MultiDataSet(new INDArray[] {random(DataType.FLOAT, 5, 6), random(DataType.FLOAT, 5, 3, 7)},
                new INDArray[] {random(DataType.FLOAT, 5, 4), random(DataType.FLOAT, 5, 2)},
                new INDArray[] {null, random(DataType.FLOAT, 5, 7)}, null),
            new MultiDataSet(new INDArray[] {random(DataType.FLOAT, 5, 6), random(DataType.FLOAT, 5, 3, 7)},
                new INDArray[] {random(DataType.FLOAT, 5, 4), random(DataType.FLOAT, 5, 2, 7)},
                new INDArray[] {null, random(DataType.FLOAT, 5, 7)}, new INDArray[] {null, random(DataType.FLOAT, 5,
                7)}),
            new MultiDataSet(new INDArray[] {random(DataType.FLOAT, 3, 1, 6, 6)},
                new INDArray[] {random(DataType.FLOAT, 3, 5)}, null, null),
            new MultiDataSet(new INDArray[] {random(DataType.DOUBLE, 3, 1, 6, 6), random(DataType.FLOAT, 3, 2)},
                new INDArray[] {random(DataType.FLOAT, 3, 5)}, new INDArray[] {null, null}, null),
            new MultiDataSet(new INDArray[] {random(DataType.FLOAT, 4, 2, 5)},
                new INDArray[] {random(DataType.FLOAT, 4, 2, 5)}, new INDArray[] {random(DataType.FLOAT, 4, 5)},
                new INDArray[] {random(DataType.FLOAT, 4, 5)}));
        for (int i = 0; i < multi.size(); i++)
        {
            final Path file = dir.resolve("mds-" + i + ".bin");
            multi.get(i).save(file.toFile());
            final long[] loaded = BatchShapes.of(ExportedDataSets.loadOne(file.toString(),
                new SerializedMultiDataSetLoader(), "MultiDataSet", CONF));
            assertArrayEquals(loaded, headerShape(file, "MultiDataSet"), "MultiDataSet " + i + ", " +
                ExampleLayout.describe(BatchShapes.layout(loaded)));
        }
    }

    /** The expected layouts spelled out once, so that the equality above is not of two equally wrong readings. */
    @Test
    void headersGiveTheCountAndEveryShape(@TempDir final Path dir) throws IOException
    {
        final Path file = dir.resolve("series.bin");
        new DataSet(random(DataType.FLOAT, 6, 3, 9), random(DataType.DOUBLE, 6, 2, 9), null,
            random(DataType.FLOAT, 6, 9)).save(file.toFile());
        assertArrayEquals(new long[] {6, 1, 1, 3, 3, 9, 3, 2, 9, 0, 2, 9, 0}, headerShape(file, "DataSet"));
        final Path multi = dir.resolve("multi.bin");
        new MultiDataSet(new INDArray[] {random(DataType.FLOAT, 5, 6), random(DataType.FLOAT, 5, 3, 7)},
            new INDArray[] {random(DataType.FLOAT, 5, 4)}, new INDArray[] {null, random(DataType.FLOAT, 5, 7)}, null)
            .save(multi.toFile());
        assertArrayEquals(new long[] {5, 2, 1, 2, 6, 3, 3, 7, 2, 4, 0, 2, 7, 0, 1}, headerShape(multi,
            "MultiDataSet"));
    }

    @Test
    void aTruncatedFileFailsNamingIt(@TempDir final Path dir) throws IOException
    {
        final Path file = dir.resolve("cut.bin");
        new DataSet(random(DataType.FLOAT, 7, 12), random(DataType.FLOAT, 7, 4)).save(file.toFile());
        final byte[] bytes = Files.readAllBytes(file);
        Files.write(file, Arrays.copyOf(bytes, bytes.length - 4));
        final TrainingInputException ex = assertThrows(TrainingInputException.class, () -> headerShape(file,
            "DataSet"));
        assertTrue(ex.getMessage().startsWith("cannot load the exported DataSet " + file + " with " +
            "SerializedDataSetLoader (expected a file that DataSet.save wrote): java.io.IOException: the file ends " +
            "at byte " + (bytes.length - 4) + ", within the array of shape [7, 4]"), ex.getMessage());
    }

    @Test
    void bytesThatAreNoArrayHeaderFailNamingTheFile(@TempDir final Path dir) throws IOException
    {
        final Path file = dir.resolve("text.csv");
        Files.writeString(file, "\u0003\u0000\u00040.5,0.25,1\n0.75,0.5,0\n");
        final TrainingInputException ex = assertThrows(TrainingInputException.class, () -> headerShape(file,
            "DataSet"));
        assertTrue(ex.getMessage().startsWith("cannot load the exported DataSet " + file + " with " +
            "SerializedDataSetLoader (expected a file that DataSet.save wrote): java.io.IOException: no array " +
            "header at byte 1"), ex.getMessage());
        final Path multi = dir.resolve("counts.bin");
        Files.write(multi, new byte[] {0, 0, 0, 1, 0x7f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
        final TrainingInputException multiEx = assertThrows(TrainingInputException.class, () -> headerShape(multi,
            "MultiDataSet"));
        assertTrue(multiEx.getMessage().contains(multi + " with SerializedMultiDataSetLoader (expected a file that " +
            "MultiDataSet.save wrote): java.io.IOException: array count 2130706432 at byte 4"), multiEx.getMessage());
    }

    @Test
    void aDataSetWithoutLabelsFailsAsItsFullLoadDoes(@TempDir final Path dir)
    {
        final Path file = dir.resolve("unlabelled.bin");
        new DataSet(random(DataType.FLOAT, 7, 12), null).save(file.toFile());
        final String loaded = assertThrows(TrainingInputException.class, () -> ExportedDataSets.loadOne(
            file.toString(), new SerializedDataSetLoader(), "DataSet", CONF)).getMessage();
        assertEquals(loaded, assertThrows(TrainingInputException.class, () -> headerShape(file, "DataSet"))
            .getMessage());
        assertEquals("the exported DataSet " + file + " has no labels: expected features and labels, as " +
            "DataSet.save writes them", loaded);
    }

    private static long[] headerShape(final Path file, final String kind)
    {
        return ExportedDataSets.headerShape(file.toString(), "Serialized" + kind + "Loader", kind, CONF);
    }

    private static INDArray random(final DataType type, final long... shape)
    {
        return Nd4j.rand(DataType.FLOAT, shape).castTo(type);
    }
}
