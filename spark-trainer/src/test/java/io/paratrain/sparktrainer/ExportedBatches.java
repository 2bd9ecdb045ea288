package io.paratrain.sparktrainer;

import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.MultiDataSet;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/**
 * Test support for exported data: examples cut into minibatches of uneven sizes, and minibatches saved as DL4J's
 * {@code fitPaths} and the job's {@code --format exported[-multi]} read them.
 */
public final class ExportedBatches
{
    /** Minibatch sizes, 197 examples in all: uneven, one of a single example. */
    public static final int[] SIZES = {7, 30, 1, 12, 50, 40, 3, 54};

    private ExportedBatches()
    {
    }

    /** {@code examples} cut into minibatches of {@link #SIZES} in order (until they run out), merged as DL4J does. */
    public static List<DataSet> uneven(final List<DataSet> examples)
    {
        return cut(examples, DataSet::merge);
    }

    /** As {@link #uneven}, for MultiDataSets. */
    public static List<MultiDataSet> unevenMulti(final List<MultiDataSet> examples)
    {
        return cut(examples, org.nd4j.linalg.dataset.MultiDataSet::merge);
    }

    /**
     * Saves minibatch i as {@code folder/batch-<i, two digits>.bin} (so name order is list order), creating the
     * folder; returns the files as {@code file:} paths, in that order.
     */
    public static List<String> save(final List<DataSet> batches, final Path folder)
    {
        return save(batches, folder, (batch, file) -> batch.save(file.toFile()));
    }

    /** As {@link #save}, with {@code MultiDataSet.save}. */
    public static List<String> saveMulti(final List<MultiDataSet> batches, final Path folder)
    {
        return save(batches, folder, (batch, file) -> batch.save(file.toFile()));
    }

    private static <T> List<T> cut(final List<T> examples, final Function<List<T>, T> merge)
    {
        final List<T> batches = new ArrayList<>();
        int start = 0;
        for (final int size : SIZES)
        {
            final int end = Math.min(examples.size(), start + size);
            if (start < end)
            {
                batches.add(merge.apply(examples.subList(start, end)));
            }
            start = end;
        }
        return batches;
    }

    private interface Saver<T>
    {
        void save(T batch, Path file) throws IOException;
    }

    private static <T> List<String> save(final List<T> batches, final Path folder, final Saver<T> saver)
    {
        final List<String> files = new ArrayList<>();
        try
        {
            Files.createDirectories(folder);
            for (int i = 0; i < batches.size(); i++)
            {
                final Path file = folder.resolve(String.format(Locale.ROOT, "batch-%02d.bin", i));
                saver.save(batches.get(i), file);
                files.add("file:" + file);
            }
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot save the batches in " + folder, ex);
        }
        return files;
    }
}
