package io.paratrain.sparktrainer.internal.data;

import io.paratrain.sparktrainer.exceptions.TrainingInputException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.core.loader.DataSetLoader;
import org.nd4j.common.loader.Source;
import org.nd4j.linalg.dataset.DataSet;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Iterator;
import java.util.NoSuchElementException;

/**
 * DataSets exported to files (DL4J's {@code fitPaths}): an RDD of paths on any Hadoop file system becomes an RDD of
 * DataSets that loads each file with a {@link DataSetLoader} only when it is read, one at a time, so neither the
 * driver nor a task holds more than one file's DataSet. A fit reads the RDD twice (the count, then the routing),
 * so each file is loaded twice per fit.
 */
public final class ExportedDataSets
{
    private ExportedDataSets()
    {
    }

    /** The DataSets in {@code paths}, in the paths' order; the driver's Hadoop configuration opens the files. */
    public static JavaRDD<DataSet> load(final JavaSparkContext sc, final JavaRDD<String> paths,
        final DataSetLoader loader)
    {
        final byte[] hadoopConf = encode(sc.hadoopConfiguration());
        return paths.mapPartitions(partition -> new Loading(partition, loader, decode(hadoopConf)));
    }

    /** Loads one file; an unreadable one fails with its path. */
    static DataSet loadOne(final String path, final DataSetLoader loader, final Configuration hadoopConf)
    {
        final DataSet loaded;
        try
        {
            loaded = loader.load(new HadoopFileSource(path, hadoopConf));
        }
        catch (final IOException | RuntimeException ex)
        {
            throw new TrainingInputException("cannot load the exported DataSet " + path + " with " +
                loader.getClass().getSimpleName() + " (expected a file that DataSet.save wrote): " + ex, ex);
        }
        if (loaded == null || loaded.getFeatures() == null || loaded.getLabels() == null)
        {
            throw new TrainingInputException("the exported DataSet " + path + " has no " +
                (loaded == null ? "DataSet" : loaded.getFeatures() == null ? "features" : "labels") +
                ": expected features and labels, as DataSet.save writes them");
        }
        return loaded;
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

    /** A path on a Hadoop file system, opened when the loader asks for its stream. */
    private record HadoopFileSource(String path, Configuration conf) implements Source
    {
        @Override
        public InputStream getInputStream() throws IOException
        {
            final Path file = new Path(path);
            return file.getFileSystem(conf).open(file);
        }

        @Override
        public String getPath()
        {
            return path;
        }
    }

    /** The partition's paths, each loaded on {@link #next}. */
    private static final class Loading implements Iterator<DataSet>
    {
        private final Iterator<String> paths;
        private final DataSetLoader loader;
        private final Configuration conf;

        Loading(final Iterator<String> paths, final DataSetLoader loader, final Configuration conf)
        {
            this.paths = paths;
            this.loader = loader;
            this.conf = conf;
        }

        @Override
        public boolean hasNext()
        {
            return paths.hasNext();
        }

        @Override
        public DataSet next()
        {
            if (!paths.hasNext())
            {
                throw new NoSuchElementException("no path left in this partition");
            }
            return loadOne(paths.next(), loader, conf);
        }
    }
}
