package io.paratrain.sparktrainer.job;

import io.paratrain.sparktrainer.internal.data.ExportedDataSets;
import io.paratrain.sparktrainer.internal.data.HadoopFileSource;
import io.paratrain.sparktrainer.exceptions.TrainingInputException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.SerializableWritable;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.core.loader.impl.SerializedDataSetLoader;
import org.deeplearning4j.core.loader.impl.SerializedMultiDataSetLoader;
import org.nd4j.common.loader.Loader;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.MultiDataSet;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * DataSets exported to files, one minibatch per file, in DL4J's {@code DataSet.save} format (what
 * {@code fitPaths} reads), for {@code --format exported}: which files a path names, in which order, and loading
 * them on the executors. A path is a file, a folder or a glob (comma-separated like Hadoop's input paths): a folder
 * gives the files directly in it whose names do not start with '_' or '.' (Hadoop's and Spark's marker and checksum
 * files), in name order, and the matches of a glob come in path order, so the same files give the same model on any
 * file system.
 */
final class ExportedFiles
{
    private ExportedFiles()
    {
    }

    /**
     * The files {@code paths} (given with {@code option}) names, in training order; refuses a subfolder.
     * {@code kind} ("DataSet" or "MultiDataSet") names what they hold in errors.
     */
    static List<String> list(final String option, final String paths, final Configuration hadoop, final String kind)
    {
        final List<String> files = new ArrayList<>();
        for (final String part : paths.split(","))
        {
            final Path path = new Path(part.trim());
            try
            {
                final FileSystem fs = path.getFileSystem(hadoop);
                final FileStatus[] matches = fs.globStatus(path);
                if (matches == null || matches.length == 0)
                {
                    throw new TrainingInputException(option + " " + part.trim() + ": no such file or folder (" +
                        fs.makeQualified(path) + ")");
                }
                Arrays.sort(matches, Comparator.comparing(status -> status.getPath().toString()));
                for (final FileStatus match : matches)
                {
                    if (match.isDirectory())
                    {
                        addFolder(option, fs, match.getPath(), files);
                    }
                    else
                    {
                        files.add(match.getPath().toString());
                    }
                }
            }
            catch (final IOException ex)
            {
                throw new TrainingInputException(option + " " + part.trim() + ": cannot be listed: " +
                    ex.getMessage(), ex);
            }
        }
        if (files.isEmpty())
        {
            throw new TrainingInputException(option + " " + paths + ": no exported " + kind + " files in it " +
                "(expected files that " + kind + ".save wrote)");
        }
        return files;
    }

    private static void addFolder(final String option, final FileSystem fs, final Path folder,
        final List<String> files) throws IOException
    {
        final FileStatus[] children = fs.listStatus(folder);
        Arrays.sort(children, Comparator.comparing(status -> status.getPath().getName()));
        for (final FileStatus child : children)
        {
            final String name = child.getPath().getName();
            if (name.startsWith("_") || name.startsWith("."))
            {
                continue;
            }
            if (child.isDirectory())
            {
                throw new TrainingInputException(option + " " + folder + " holds the folder " + name + ": " +
                    "exported DataSets are read from the files directly in the folder; give the subfolder as a " +
                    "path of its own (comma-separated) or move its files");
            }
            files.add(child.getPath().toString());
        }
    }

    /**
     * The DataSets in {@code files}, in order, each loaded where it is read (one at a time per task), through the
     * driver's Hadoop configuration.
     */
    static JavaRDD<DataSet> load(final JavaSparkContext sc, final List<String> files, final int partitions)
    {
        final SerializableWritable<Configuration> hadoop = new SerializableWritable<>(sc.hadoopConfiguration());
        return sc.parallelize(files, partitions).map(file -> loadOne(file, hadoop.value()));
    }

    /** The MultiDataSets in {@code files}, as {@link #load} the DataSets. */
    static JavaRDD<MultiDataSet> loadMulti(final JavaSparkContext sc, final List<String> files, final int partitions)
    {
        final SerializableWritable<Configuration> hadoop = new SerializableWritable<>(sc.hadoopConfiguration());
        return sc.parallelize(files, partitions).map(file -> loadOneMulti(file, hadoop.value()));
    }

    /** One file as DataSet.save wrote it; throws a {@link TrainingInputException} naming it when it is not one. */
    static DataSet loadOne(final String file, final Configuration hadoop)
    {
        final DataSet loaded = loadWith(new SerializedDataSetLoader(), file, hadoop, "DataSet");
        if (loaded.getFeatures() == null || loaded.getLabels() == null)
        {
            throw new TrainingInputException("exported DataSet " + file + ": has no " +
                (loaded.getFeatures() == null ? "features" : "labels") + " (expected features and labels, as " +
                "DataSet.save writes a labelled minibatch)");
        }
        return loaded;
    }

    /** One file as MultiDataSet.save wrote it, as {@link #loadOne} a DataSet. */
    static MultiDataSet loadOneMulti(final String file, final Configuration hadoop)
    {
        final MultiDataSet loaded = loadWith(new SerializedMultiDataSetLoader(), file, hadoop, "MultiDataSet");
        if (loaded.getFeatures() == null || loaded.getLabels() == null)
        {
            throw new TrainingInputException("exported MultiDataSet " + file + ": has no " +
                (loaded.getFeatures() == null ? "features" : "labels") + " (expected features and labels, as " +
                "MultiDataSet.save writes a labelled minibatch)");
        }
        return loaded;
    }

    private static <T> T loadWith(final Loader<T> loader, final String file, final Configuration hadoop,
        final String kind)
    {
        try
        {
            ExportedDataSets.checkHeaders(file, kind, hadoop); // a file of another kind fails here, not in DL4J
            return loader.load(new HadoopFileSource(file, hadoop));
        }
        catch (final IOException | RuntimeException ex)
        {
            throw new TrainingInputException("exported " + kind + " " + file + ": cannot be loaded (expected a " +
                "file that " + kind + ".save wrote): " + rootCause(ex), ex);
        }
    }

    /** DL4J wraps the error that says what is wrong ("Error loading DataSet"): show the innermost. */
    private static String rootCause(final Throwable error)
    {
        Throwable root = error;
        while (root.getCause() != null && root.getCause() != root)
        {
            root = root.getCause();
        }
        return root.toString();
    }
}
