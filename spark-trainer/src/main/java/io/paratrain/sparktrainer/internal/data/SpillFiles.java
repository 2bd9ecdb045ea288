package io.paratrain.sparktrainer.internal.data;

import io.paratrain.sparktrainer.exceptions.TrainerException;
import org.apache.spark.SparkEnv;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.UUID;

/**
 * Where a replica's spill file goes: the executor's Spark local dir, through its {@code DiskBlockManager} (the
 * folders of {@code spark.local.dir}, or of the cluster manager: SPARK_LOCAL_DIRS, YARN's and Kubernetes' local
 * dirs). That is where Spark keeps its own shuffle and spill files, so it is the disk the cluster sized and made
 * fast for them, spread over all of them by the file name's hash; and Spark deletes those folders when the executor
 * stops, so even the file of a task whose JVM was killed (no finally ran) does not outlive the executor. Outside
 * Spark (no SparkEnv): java.io.tmpdir.
 */
public final class SpillFiles
{
    private static final Logger LOG = LoggerFactory.getLogger(SpillFiles.class);
    /** Every spill file's name starts with this. */
    public static final String PREFIX = "paratrain-spill-";

    private SpillFiles()
    {
    }

    /** A fresh path, not yet created, for {@code owner}'s file (the owner is part of the name, for a human). */
    public static Path newFile(final String owner)
    {
        final String name = PREFIX + owner.replaceAll("[^A-Za-z0-9]+", "-") + "-" + UUID.randomUUID() + ".bin";
        final SparkEnv env = SparkEnv.get();
        return env != null ? env.blockManager().diskBlockManager().getFile(name).toPath() :
            Path.of(System.getProperty("java.io.tmpdir"), name);
    }

    /** Creates {@code file} (which must not exist) for writing and reading back. */
    static FileChannel create(final Path file, final String owner)
    {
        try
        {
            return FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                StandardOpenOption.READ);
        }
        catch (final IOException ex)
        {
            throw new TrainerException(owner + ": cannot create spill file " + file, ex);
        }
    }

    /** Closes and deletes the file; a failure is logged, not thrown, so it never hides the task's error. */
    static void deleteQuietly(final FileChannel channel, final Path file, final String owner)
    {
        try
        {
            channel.close();
        }
        catch (final IOException ex)
        {
            LOG.warn("{}: closing spill file {} failed: {}", owner, file, ex.toString());
        }
        try
        {
            Files.deleteIfExists(file);
        }
        catch (final IOException ex)
        {
            LOG.warn("{}: deleting spill file {} failed (Spark deletes its local dir when the executor stops): {}",
                owner, file, ex.toString());
        }
    }
}
