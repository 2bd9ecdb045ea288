package io.paratrain.sparktrainer;

import io.paratrain.sparktrainer.internal.data.SpillFiles;
import org.apache.spark.SparkEnv;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/** Test support: the replicas' spill files that exist now, in this JVM's Spark local dirs and java.io.tmpdir. */
public final class SpillFilesFound
{
    private SpillFilesFound()
    {
    }

    public static List<Path> now()
    {
        final List<Path> roots = new ArrayList<>();
        roots.add(Path.of(System.getProperty("java.io.tmpdir")));
        final SparkEnv env = SparkEnv.get();
        if (env != null)
        {
            for (final File dir : env.blockManager().diskBlockManager().localDirs())
            {
                roots.add(dir.toPath());
            }
        }
        final List<Path> found = new ArrayList<>();
        for (final Path root : roots)
        {
            // java.io.tmpdir is searched only at its top level: the local dirs nest their files two levels down
            try (Stream<Path> files = Files.walk(root, root.equals(roots.get(0)) ? 1 : 3))
            {
                files.filter(p -> p.getFileName().toString().startsWith(SpillFiles.PREFIX)).forEach(found::add);
            }
            catch (final IOException ex)
            {
                throw new UncheckedIOException("cannot list " + root, ex);
            }
        }
        return found;
    }
}
