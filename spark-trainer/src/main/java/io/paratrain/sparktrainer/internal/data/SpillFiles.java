package io.paratrain.sparktrainer.internal.data;

import org.apache.spark.SparkEnv;

import java.nio.file.Path;
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
}
