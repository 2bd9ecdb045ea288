package io.paratrain.sparktrainer.internal.data;

import io.paratrain.sparktrainer.exceptions.TrainingInputException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.core.loader.DataSetLoader;
import org.deeplearning4j.core.loader.MultiDataSetLoader;
import org.deeplearning4j.core.loader.impl.SerializedDataSetLoader;
import org.deeplearning4j.core.loader.impl.SerializedMultiDataSetLoader;
import org.nd4j.common.loader.Loader;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.MultiDataSet;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.Iterator;
import java.util.NoSuchElementException;

/**
 * DataSets or MultiDataSets exported to files (DL4J's {@code fitPaths} and {@code fitPathsMultiDataSet}): an RDD of
 * paths on any Hadoop file system becomes an RDD of MultiDataSets (a DataSet as the MultiDataSet of one input and one
 * output, by reference) that loads each file with a {@link DataSetLoader} or {@link MultiDataSetLoader} only when it
 * is read, one at a time, so neither the driver nor a task holds more than one file's examples. The fit's count
 * needs only each file's example count and array shapes ({@link #shapes}): with DL4J's own loaders it reads them
 * from the arrays' headers and seeks past their data ({@link ExportedHeaders}), so each file's data is read once
 * per fit, by the training; a file whose headers cannot be read fails the fit with its path. Another loader (say,
 * one for compressed files) is asked for each file twice per fit, for the count and for the training.
 */
public final class ExportedDataSets
{
    private ExportedDataSets()
    {
    }

    /** The DataSets in {@code paths}, in the paths' order; the driver's Hadoop configuration opens the files. */
    public static JavaRDD<MultiDataSet> load(final JavaSparkContext sc, final JavaRDD<String> paths,
        final DataSetLoader loader)
    {
        return load(sc, paths, loader, "DataSet");
    }

    /** The MultiDataSets in {@code paths}, in the paths' order, as {@link #load} DataSets. */
    public static JavaRDD<MultiDataSet> loadMulti(final JavaSparkContext sc, final JavaRDD<String> paths,
        final MultiDataSetLoader loader)
    {
        return load(sc, paths, loader, "MultiDataSet");
    }

    private static JavaRDD<MultiDataSet> load(final JavaSparkContext sc, final JavaRDD<String> paths,
        final Loader<?> loader, final String kind)
    {
        final byte[] hadoopConf = encode(sc.hadoopConfiguration());
        return paths.mapPartitions(partition -> new Loading(partition, loader, kind, decode(hadoopConf)));
    }

    /**
     * The {@link BatchShapes} of the DataSets that {@link #load} gives, partition for partition: from the files'
     * array headers when {@code loader} is DL4J's {@link SerializedDataSetLoader} (exactly that class: a subclass
     * may read another format), else from each file loaded with {@code loader}.
     */
    public static JavaRDD<long[]> shapes(final JavaSparkContext sc, final JavaRDD<String> paths,
        final DataSetLoader loader)
    {
        return loader.getClass() == SerializedDataSetLoader.class ? headerShapes(sc, paths, loader, "DataSet") :
            BatchShapes.of(load(sc, paths, loader));
    }

    /**
     * The {@link BatchShapes} of the MultiDataSets that {@link #loadMulti} gives, as {@link #shapes} those of
     * DataSets: from the headers with DL4J's {@link SerializedMultiDataSetLoader}, else from each file loaded.
     */
    public static JavaRDD<long[]> shapesMulti(final JavaSparkContext sc, final JavaRDD<String> paths,
        final MultiDataSetLoader loader)
    {
        return loader.getClass() == SerializedMultiDataSetLoader.class ?
            headerShapes(sc, paths, loader, "MultiDataSet") : BatchShapes.of(loadMulti(sc, paths, loader));
    }

    private static JavaRDD<long[]> headerShapes(final JavaSparkContext sc, final JavaRDD<String> paths,
        final Loader<?> loader, final String kind)
    {
        final byte[] hadoopConf = encode(sc.hadoopConfiguration());
        final String loaderName = loader.getClass().getSimpleName();
        return paths.mapPartitions(partition ->
        {
            final Configuration conf = decode(hadoopConf);
            return new Iterator<long[]>()
            {
                @Override
                public boolean hasNext()
                {
                    return partition.hasNext();
                }

                @Override
                public long[] next()
                {
                    return headerShape(partition.next(), loaderName, kind, conf);
                }
            };
        });
    }

    /**
     * The {@link BatchShapes} of the file of {@code kind} at {@code path} from its headers, as {@link #loadOne}
     * gives the file's examples: it fails alike, with the same message, when the file cannot be read or has no
     * features or labels.
     */
    static long[] headerShape(final String path, final String loaderName, final String kind,
        final Configuration hadoopConf)
    {
        final ExportedHeaders.Parts parts;
        final long[] shape;
        try
        {
            parts = headers(path, kind, hadoopConf);
            shape = ExportedHeaders.Parts.missing(parts.features()) || ExportedHeaders.Parts.missing(parts.labels())
                ? null : parts.batchShape();
        }
        catch (final IOException | RuntimeException ex)
        {
            throw new TrainingInputException("cannot load the exported " + kind + " " + path + " with " +
                loaderName + " (expected a file that " + kind + ".save wrote): " + ex, ex);
        }
        if (shape == null)
        {
            throw new TrainingInputException("the exported " + kind + " " + path + " has no " +
                (ExportedHeaders.Parts.missing(parts.features()) ? "features" : "labels") + ": expected features " +
                "and labels, as " + kind + ".save writes them");
        }
        return shape;
    }

    /**
     * Reads the arrays' headers of the {@code kind} ("DataSet" or "MultiDataSet") file at {@code path} as DL4J's
     * serialized loaders wrote it, each checked against the file's size: a file of another kind fails here, where
     * DL4J's own load would allocate whatever length its bytes claim (a text file: an OutOfMemoryError).
     */
    public static void checkHeaders(final String path, final String kind, final Configuration hadoopConf)
        throws IOException
    {
        headers(path, kind, hadoopConf);
    }

    private static ExportedHeaders.Parts headers(final String path, final String kind,
        final Configuration hadoopConf) throws IOException
    {
        final Path file = new Path(path);
        final FileSystem fs = file.getFileSystem(hadoopConf);
        try (FSDataInputStream in = fs.open(file))
        {
            final long fileBytes = fs.getFileStatus(file).getLen();
            return kind.equals("DataSet") ? ExportedHeaders.dataSet(in, fileBytes) :
                ExportedHeaders.multiDataSet(in, fileBytes);
        }
    }

    /**
     * Loads one file of {@code kind} ("DataSet" or "MultiDataSet", which {@code loader} returns); an unreadable
     * one, or one without features or labels, fails with its path.
     */
    static MultiDataSet loadOne(final String path, final Loader<?> loader, final String kind,
        final Configuration hadoopConf)
    {
        final Object loaded;
        try
        {
            loaded = loader.load(new HadoopFileSource(path, hadoopConf));
        }
        catch (final IOException | RuntimeException ex)
        {
            throw new TrainingInputException("cannot load the exported " + kind + " " + path + " with " +
                loader.getClass().getSimpleName() + " (expected a file that " + kind + ".save wrote): " + ex, ex);
        }
        final MultiDataSet examples = loaded instanceof DataSet dataSet ? Examples.of(dataSet) :
            loaded instanceof MultiDataSet multi ? withoutPlaceholders(multi) : null;
        final String missing = examples == null ? kind : missing(examples.getFeatures()) ? "features" :
            missing(examples.getLabels()) ? "labels" : null;
        if (missing != null)
        {
            throw new TrainingInputException("the exported " + kind + " " + path + " has no " + missing +
                ": expected features and labels, as " + kind + ".save writes them");
        }
        return examples;
    }

    /**
     * DL4J's {@code MultiDataSet.save} writes an absent mask (of some inputs or outputs only) as a placeholder, the
     * rank-1 array [-1], which {@code load} turns back into null only on a thread that has created the placeholder
     * itself (a thread-local); elsewhere, as in a task, it comes back as the mask. No mask has rank 1: such an array
     * is the placeholder, and is absent.
     */
    private static MultiDataSet withoutPlaceholders(final MultiDataSet loaded)
    {
        loaded.setFeaturesMaskArrays(withoutPlaceholders(loaded.getFeaturesMaskArrays()));
        loaded.setLabelsMaskArray(withoutPlaceholders(loaded.getLabelsMaskArrays()));
        return loaded;
    }

    private static INDArray[] withoutPlaceholders(final INDArray[] masks)
    {
        if (masks == null)
        {
            return null;
        }
        final INDArray[] kept = new INDArray[masks.length];
        for (int i = 0; i < masks.length; i++)
        {
            final boolean placeholder = masks[i] != null && masks[i].rank() == 1 && masks[i].length() == 1 &&
                masks[i].getDouble(0) == -1;
            kept[i] = placeholder ? null : masks[i];
        }
        return Arrays.stream(kept).allMatch(m -> m == null) ? null : kept;
    }

    private static boolean missing(final INDArray[] arrays)
    {
        return arrays == null || arrays.length == 0 || Arrays.stream(arrays).anyMatch(a -> a == null);
    }

    /** Hadoop's Configuration is Writable, not Serializable: it travels to the tasks as its bytes. */
    private static byte[] encode(final Configuration conf)
    {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes))
        {
            conf.write(out);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot encode the Hadoop configuration", ex);
        }
        return bytes.toByteArray();
    }

    private static Configuration decode(final byte[] bytes)
    {
        final Configuration conf = new Configuration(false);
        try
        {
            conf.readFields(new DataInputStream(new ByteArrayInputStream(bytes)));
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot decode the Hadoop configuration", ex);
        }
        return conf;
    }

    /** The partition's paths, each loaded on {@link #next}. */
    private static final class Loading implements Iterator<MultiDataSet>
    {
        private final Iterator<String> paths;
        private final Loader<?> loader;
        private final String kind;
        private final Configuration conf;

        Loading(final Iterator<String> paths, final Loader<?> loader, final String kind, final Configuration conf)
        {
            this.paths = paths;
            this.loader = loader;
            this.kind = kind;
            this.conf = conf;
        }

        @Override
        public boolean hasNext()
        {
            return paths.hasNext();
        }

        @Override
        public MultiDataSet next()
        {
            if (!paths.hasNext())
            {
                throw new NoSuchElementException("no path left in this partition");
            }
            return loadOne(paths.next(), loader, kind, conf);
        }
    }
}
