package io.paratrain.gradientsharing;

import io.paratrain.gradientsharing.exceptions.CollectiveTimeoutException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Exchanges endpoints through files in a folder every rank can see (a local or shared file system):
 * rank r writes {@code rank-r.endpoint} atomically and waits for all others. For plain Java programs, tests
 * and benchmarks that run ranks as separate processes without Spark.
 */
public final class FileRendezvous
{
    private static final long POLL_MS = 5;

    private FileRendezvous()
    {
    }

    /** Publishes {@code mine} and returns every rank's endpoint, ordered by rank. */
    public static List<Endpoint> exchange(final Path dir, final int rank, final int worldSize, final Endpoint mine,
        final long timeoutMs)
    {
        try
        {
            Files.createDirectories(dir);
            final Path temp = dir.resolve("rank-" + rank + ".endpoint.tmp");
            Files.writeString(temp, mine.toString(), StandardCharsets.UTF_8);
            Files.move(temp, fileOf(dir, rank), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            final long startNs = System.nanoTime();
            final List<Endpoint> endpoints = new ArrayList<>(worldSize);
            for (int r = 0; r < worldSize; r++)
            {
                final Path file = fileOf(dir, r);
                while (!Files.exists(file))
                {
                    final long waitedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs);
                    if (waitedMs > timeoutMs)
                    {
                        throw new CollectiveTimeoutException("rendezvous", rank, r, waitedMs,
                            "no endpoint file " + file);
                    }
                    Thread.sleep(POLL_MS); // set-up only: waits for another process to write its file
                }
                endpoints.add(Endpoint.parse(Files.readString(file, StandardCharsets.UTF_8).trim()));
            }
            return endpoints;
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("rendezvous folder " + dir, ex);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new CollectiveTimeoutException("rendezvous", rank, rank, 0, "interrupted");
        }
    }

    private static Path fileOf(final Path dir, final int rank)
    {
        return dir.resolve("rank-" + rank + ".endpoint");
    }
}
