package io.paratrain.sparktrainer.job;

import io.paratrain.sparktrainer.exceptions.TrainingInputException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.io.LongWritable;
import org.apache.hadoop.io.Text;
import org.apache.hadoop.mapred.FileSplit;
import org.apache.hadoop.mapred.JobConf;
import org.apache.hadoop.mapred.TextInputFormat;
import org.apache.spark.api.java.JavaHadoopRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;

import java.io.IOException;
import java.net.URI;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The lines of text files as Spark partitions, one per Hadoop file split (Spark's {@code sc.textFile} reader:
 * Hadoop's {@link TextInputFormat}, whose line reader Spark's text source uses too), each parsed in its task into one
 * {@link ExampleChunk} named by the split's file and first byte. No Spark SQL: its session and the planning of a
 * scan cost seconds before the first row is read (measured ~14 s in a fresh JVM under load), more than reading
 * the lines.
 * <p>
 * The files are listed on the driver (a folder's files, hidden ones starting with {@code _} or {@code .} left
 * out, as Spark's and Hadoop's readers do; folders within it walked) and sorted by path, so the partitions come in
 * data order whatever order the file system lists in. Files are cut into splits of at most
 * {@code spark.sql.files.maxPartitionBytes} (Spark's setting for its file sources, default 128 MiB) and into at
 * least as many splits as Spark's default parallelism, so every core parses.
 */
final class TextParts
{
    /** The JobConf key of the listed files, one URI per line. */
    static final String FILES = "paratrain.input.files";

    private TextParts()
    {
    }

    static JavaRDD<ExampleChunk> read(final JavaSparkContext sc, final String[] paths, final ChunkBuilder builder)
    {
        final Configuration hadoop = sc.hadoopConfiguration();
        final List<FileStatus> files = list(paths, hadoop);
        long bytes = 0;
        final StringBuilder uris = new StringBuilder();
        for (final FileStatus file : files)
        {
            bytes += file.getLen();
            uris.append(file.getPath().toUri()).append('\n');
        }
        final long maxPartBytes = sc.getConf().getSizeAsBytes("spark.sql.files.maxPartitionBytes", "128m");
        final int minParts = (int)Math.min(Integer.MAX_VALUE, Math.max(sc.defaultParallelism(),
            (bytes + maxPartBytes - 1) / Math.max(1, maxPartBytes)));
        final JobConf job = new JobConf(hadoop);
        job.set(FILES, uris.toString());
        @SuppressWarnings("unchecked")
        final JavaHadoopRDD<LongWritable, Text> lines = (JavaHadoopRDD<LongWritable, Text>)sc.hadoopRDD(job,
            ListedFiles.class, LongWritable.class, Text.class, minParts);
        return lines.mapPartitionsWithInputSplit((split, part) ->
        {
            final FileSplit fileSplit = (FileSplit)split;
            final ExampleChunk chunk = builder.lines(fileSplit.getPath().toString(), fileSplit.getStart(),
                new java.util.Iterator<>()
                {
                    @Override
                    public boolean hasNext()
                    {
                        return part.hasNext();
                    }

                    @Override
                    public Text next()
                    {
                        return part.next()._2();
                    }
                });
            return List.of(chunk).iterator();
        }, true);
    }

    /** The files {@code paths} (comma-separated parts, globs allowed) name, sorted by path. */
    static List<FileStatus> list(final String[] paths, final Configuration hadoop)
    {
        final List<FileStatus> files = new ArrayList<>();
        try
        {
            for (final String part : paths)
            {
                final Path path = new Path(part);
                final FileSystem fs = path.getFileSystem(hadoop);
                final FileStatus[] matches = fs.globStatus(path, TextParts::visible);
                if (matches == null || matches.length == 0)
                {
                    throw new TrainingInputException("no such file or folder: " + part);
                }
                for (final FileStatus match : matches)
                {
                    addFiles(fs, match, files);
                }
            }
        }
        catch (final IOException ex)
        {
            throw new TrainingInputException("cannot list the input " + String.join(",", paths) + ": " +
                ex.getMessage(), ex);
        }
        files.sort(Comparator.comparing(f -> f.getPath().toString()));
        return files;
    }

    private static void addFiles(final FileSystem fs, final FileStatus status, final List<FileStatus> files)
        throws IOException
    {
        if (!status.isDirectory())
        {
            files.add(status);
            return;
        }
        for (final FileStatus child : fs.listStatus(status.getPath(), TextParts::visible))
        {
            addFiles(fs, child, files);
        }
    }

    private static boolean visible(final Path path)
    {
        final String name = path.getName();
        return !name.startsWith("_") && !name.startsWith(".");
    }

    /**
     * Hadoop's text input over the files {@link #read} listed, in that order: no second listing, no globbing of
     * names that contain glob characters.
     */
    public static final class ListedFiles extends TextInputFormat
    {
        @Override
        protected FileStatus[] listStatus(final JobConf job) throws IOException
        {
            final List<FileStatus> files = new ArrayList<>();
            for (final String uri : job.get(FILES, "").split("\n"))
            {
                if (!uri.isEmpty())
                {
                    final Path path = new Path(URI.create(uri));
                    files.add(path.getFileSystem(job).getFileStatus(path));
                }
            }
            return files.toArray(FileStatus[]::new);
        }
    }
}
