package io.paratrain.sparktrainer.job;

import io.paratrain.sparktrainer.exceptions.TrainingInputException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.io.LongWritable;
import org.apache.hadoop.io.Text;
import org.apache.hadoop.io.compress.CompressionCodecFactory;
import org.apache.hadoop.mapred.FileSplit;
import org.apache.hadoop.mapred.LineRecordReader;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.util.SerializableConfiguration;

import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.net.URI;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.stream.IntStream;

/**
 * The lines of text files, cut into parts (byte ranges of one file, read by Hadoop's {@link LineRecordReader}, the
 * line reader of Spark's {@code textFile} and text source: a part that does not start its file begins at the first
 * line that starts after its first byte), each parsed in its task into one {@link ExampleChunk} named by its file
 * and first byte. No Spark SQL: its session and the planning of a scan cost seconds before the first line is read
 * (measured ~14 s in a fresh JVM under load), more than reading the lines.
 * <p>
 * The files are listed on the driver (a folder's files, hidden ones starting with {@code _} or {@code .} left
 * out, as Spark's and Hadoop's readers do; folders within it walked) and sorted by path: the data order. Parts are
 * at most {@code spark.sql.files.maxPartitionBytes} (Spark's setting for its file sources, default 128 MiB); a
 * compressed file is one part. They go into Spark partitions in data order, either one part per partition, as
 * many as there are cores or more (the check parses on every core, then {@link DataOrder} balances the examples
 * with a shuffle), or consecutive parts holding about equal bytes in a given number of partitions, which are then
 * the data's partitions as they are (no shuffle).
 */
final class TextParts
{
    private TextParts()
    {
    }

    /**
     * The chunks of the files {@code paths} names, one per part, in {@code partitions} partitions of consecutive
     * parts, or one partition per part when {@code partitions} is 0.
     */
    static JavaRDD<ExampleChunk> read(final JavaSparkContext sc, final String[] paths, final int partitions,
        final ChunkBuilder builder)
    {
        final Configuration hadoop = sc.hadoopConfiguration();
        final List<FileStatus> files = list(paths, hadoop);
        final long bytes = files.stream().mapToLong(FileStatus::getLen).sum();
        final long maxPartBytes = sc.getConf().getSizeAsBytes("spark.sql.files.maxPartitionBytes", "128m");
        final int groups = partitions > 0 ? partitions : sc.defaultParallelism();
        // Parts end at the groups' byte boundaries (so that groups hold about equal bytes) and are no larger than
        // maxPartBytes.
        final long partBytes = Math.max(1, Math.min(maxPartBytes, (bytes + groups - 1) / groups));
        final CompressionCodecFactory codecs = new CompressionCodecFactory(hadoop);
        final List<Part> parts = new ArrayList<>();
        long offset = 0; // of the file's first byte in all files' bytes
        for (final FileStatus file : files)
        {
            final String uri = file.getPath().toUri().toString();
            if (codecs.getCodec(file.getPath()) != null || file.getLen() == 0)
            {
                parts.add(new Part(uri, 0, file.getLen(), offset));
            }
            else
            {
                for (long start = 0; start < file.getLen(); )
                {
                    final long end = Math.min(file.getLen(), (offset + start) / partBytes * partBytes + partBytes -
                        offset);
                    parts.add(new Part(uri, start, end - start, offset + start));
                    start = end;
                }
            }
            offset += file.getLen();
        }
        final List<List<Part>> grouped = new ArrayList<>();
        if (partitions > 0)
        {
            IntStream.range(0, partitions).forEach(p -> grouped.add(new ArrayList<>()));
            for (final Part part : parts)
            {
                grouped.get((int)Math.min(partitions - 1, part.firstByte() * partitions / Math.max(1, bytes)))
                    .add(part);
            }
        }
        else
        {
            parts.forEach(part -> grouped.add(List.of(part)));
        }
        final Broadcast<SerializableConfiguration> conf = sc.broadcast(new SerializableConfiguration(hadoop));
        return sc.parallelize(IntStream.range(0, grouped.size()).boxed().toList(), Math.max(1, grouped.size()))
            .flatMap(group ->
            {
                final List<ExampleChunk> chunks = new ArrayList<>();
                for (final Part part : grouped.get(group))
                {
                    chunks.add(part.read(conf.value().value(), builder));
                }
                return chunks.iterator();
            });
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
     * Bytes {@code start .. start + length} of a file, {@code firstByte} its start counted over all files in data
     * order.
     */
    record Part(String uri, long start, long length, long firstByte) implements Serializable
    {
        /** Its lines, parsed: the file is named as Hadoop's Path prints it (file:/a/b.csv). */
        ExampleChunk read(final Configuration hadoop, final ChunkBuilder builder) throws IOException
        {
            final Path path = new Path(URI.create(uri));
            final LineRecordReader reader = new LineRecordReader(hadoop, new FileSplit(path, start, length,
                (String[])null));
            try
            {
                return builder.lines(path.toString(), start, new Lines(reader));
            }
            finally
            {
                reader.close();
            }
        }
    }

    /** A line reader's lines (one Text, refilled). */
    private static final class Lines implements Iterator<Text>
    {
        private final LineRecordReader reader;
        private final LongWritable key;
        private final Text line;
        private boolean ahead;

        Lines(final LineRecordReader reader)
        {
            this.reader = reader;
            this.key = reader.createKey();
            this.line = reader.createValue();
        }

        @Override
        public boolean hasNext()
        {
            try
            {
                ahead = ahead || reader.next(key, line);
                return ahead;
            }
            catch (final IOException ex)
            {
                throw new UncheckedIOException(ex);
            }
        }

        @Override
        public Text next()
        {
            if (!hasNext())
            {
                throw new NoSuchElementException();
            }
            ahead = false;
            return line;
        }
    }
}
