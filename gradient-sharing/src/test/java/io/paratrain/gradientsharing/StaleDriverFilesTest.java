package io.paratrain.gradientsharing;

import io.paratrain.gradientsharing.internal.SharedMediaDriver;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What a JVM killed with SIGKILL leaves beside the media driver directories (its lock file, and the directory of
 * a driver it ran) is removed when the next driver starts in that base folder, but never a lock file a live
 * process holds or that belongs to a live driver.
 */
@Timeout(120)
class StaleDriverFilesTest
{
    private static final long TIMEOUT_MS = 10_000;

    @TempDir
    Path base;

    @Test
    void lockFilesAndDeadDriverFoldersNobodyHoldsAreRemovedWhenTheNextDriverStarts() throws Exception
    {
        final Path orphanLock = Files.createFile(base.resolve("paratrain-aeron-0000000000000001.lock"));
        final Path deadDriver = Files.createDirectories(base.resolve("paratrain-aeron-0000000000000002"));
        Files.writeString(deadDriver.resolve("paratrain-driver.id"), "dead"); // no cnc.dat: no live driver
        Files.createFile(base.resolve("paratrain-aeron-0000000000000002.lock"));
        final Path unrelated = Files.createFile(base.resolve("other.lock"));

        final SharedMediaDriver driver = SharedMediaDriver.acquire(base.resolve("paratrain-aeron-00000000000000aa"),
            TIMEOUT_MS);
        try
        {
            assertEquals(List.of("other.lock", "paratrain-aeron-00000000000000aa",
                "paratrain-aeron-00000000000000aa.lock"), names(), "orphan " + orphanLock + " and dead " + deadDriver);
        }
        finally
        {
            driver.release(1_000);
        }
        assertEquals(List.of("other.lock"), names());
        assertTrue(Files.exists(unrelated));
    }

    @Test
    void aLockFileThatALiveProcessHoldsIsKept() throws Exception
    {
        final Path held = base.resolve("paratrain-aeron-0000000000000003.lock");
        final Process holder = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-cp", System.getProperty("java.class.path"), LockHolder.class.getName(), held.toString())
            .redirectErrorStream(true).start();
        try
        {
            final BufferedReader out = new BufferedReader(new InputStreamReader(holder.getInputStream(),
                StandardCharsets.UTF_8));
            assertEquals("locked", out.readLine(), "the lock holder did not start");
            final SharedMediaDriver driver = SharedMediaDriver.acquire(base.resolve("paratrain-aeron-00000000000000bb"),
                TIMEOUT_MS);
            driver.release(1_000);
            assertTrue(Files.exists(held), "a lock file held by process " + holder.pid() + " was removed");
        }
        finally
        {
            holder.getOutputStream().close(); // the holder exits at the end of its input
            if (!holder.waitFor(30, TimeUnit.SECONDS))
            {
                holder.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
            }
        }
        assertEquals(0, holder.exitValue());
        // its holder is gone: now it is stale
        final SharedMediaDriver driver = SharedMediaDriver.acquire(base.resolve("paratrain-aeron-00000000000000cc"),
            TIMEOUT_MS);
        driver.release(1_000);
        assertEquals(List.of(), names());
    }

    @Test
    void theLockFileAndFolderOfALiveDriverAreKept() throws Exception
    {
        final Path first = base.resolve("paratrain-aeron-00000000000000dd");
        final SharedMediaDriver live = SharedMediaDriver.acquire(first, TIMEOUT_MS);
        try
        {
            final SharedMediaDriver second = SharedMediaDriver.acquire(base.resolve("paratrain-aeron-00000000000000ee"),
                TIMEOUT_MS);
            second.release(1_000);
            assertEquals(List.of("paratrain-aeron-00000000000000dd", "paratrain-aeron-00000000000000dd.lock"), names());
            assertTrue(Files.exists(first.resolve("cnc.dat")), "the live driver's folder was emptied");
        }
        finally
        {
            live.release(1_000);
        }
        assertEquals(List.of(), names());
    }

    /** Spark interrupts the tasks of a failed stage; the driver's shutdown must still delete its lock file. */
    @Test
    void anInterruptedThreadStillStopsTheDriverCleanlyAndKeepsItsInterrupt() throws Exception
    {
        final SharedMediaDriver driver = SharedMediaDriver.acquire(base.resolve("paratrain-aeron-00000000000000ff"),
            TIMEOUT_MS);
        Thread.currentThread().interrupt();
        driver.release(1_000);
        assertTrue(Thread.interrupted(), "the interrupt was swallowed");
        assertEquals(List.of(), names());
    }

    private List<String> names() throws IOException
    {
        try (Stream<Path> entries = Files.list(base))
        {
            return entries.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    /** Child process: holds the lock of the file in args[0] until its standard input ends. */
    public static final class LockHolder
    {
        public static void main(final String[] args) throws IOException
        {
            try (FileChannel channel = FileChannel.open(Path.of(args[0]), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE); FileLock ignored = channel.lock())
            {
                System.out.println("locked");
                System.out.flush();
                while (System.in.read() >= 0)
                {
                    continue;
                }
            }
        }
    }
}
