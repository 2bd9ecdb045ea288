package io.paratrain.benchmarks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** File clean-up shared by the benchmark commands. */
final class Folders
{
    private Folders()
    {
    }

    /** Deletes {@code root} and everything below it. */
    static void deleteTree(final Path root) throws IOException
    {
        try (var paths = Files.walk(root))
        {
            for (final Path path : paths.sorted((a, b) -> b.getNameCount() - a.getNameCount()).toList())
            {
                Files.deleteIfExists(path);
            }
        }
    }
}
