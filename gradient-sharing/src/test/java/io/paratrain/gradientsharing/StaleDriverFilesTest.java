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
import java.nio.file.attribute.FileTime;
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
        makeOld(orphanLock, unrelated, base.resolve("paratrain-aeron-0000000000000002.lock"));
        final Path recent = Files.createFile(base.resolve("paratrain-aeron-0000000000000004.lock"));

        final SharedMediaDriver driver = SharedMediaDriver.acquire(base.resolve("paratrain-aeron-00000000000000aa"),
            TIMEOUT_MS);
        try
        {
            // a lock file used within the last minute may belong to a driver about to start: kept
            assertEquals(List.of("other.lock", "paratrain-aeron-0000000000000004.lock",
                "paratrain-aeron-00000000000000aa", "paratrain-aeron-00000000000000aa.lock"), names(), "orphan " + orphanLock + " and dead " + deadDriver);
        }
        finally
        {
            driver.release(1_000);
        }
        assertEquals(List.of("other.lock", "paratrain-aeron-0000000000000004.lock"), names());
        assertTrue(Files.exists(unrelated) && Files.exists(recent));
    }

    @Test
    void aLockFileThatALiveProcessHoldsIsKept() throws Exception
    {
        final Path held = base.resolve("paratrain-aeron-0000000000000003.lock");
        final Process holder = child("hold", held);
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
        // its holder is gone: once old enough it is stale
        makeOld(held);
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

    /** The lock is held as long as the lock object lives: checking the file's name must not drop it. */
    @Test
    void anAcquiredLockIsHeldUntilClosed() throws Exception
    {
        final Path dir = base.resolve("paratrain-aeron-0000000000000005");
        try (io.paratrain.gradientsharing.internal.DriverDirLock ignored =
            io.paratrain.gradientsharing.internal.DriverDirLock.acquire(dir))
        {
            final Process probe = child("probe", io.paratrain.gradientsharing.internal.DriverDirLock.lockFile(dir));
            assertTrue(probe.waitFor(60, TimeUnit.SECONDS), "the probe did not end");
            assertEquals("held", new String(probe.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim());
        }
    }

    private static Process child(final String mode, final Path file) throws IOException
    {
        return new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-cp", System.getProperty("java.class.path"), LockHolder.class.getName(), mode, file.toString())
            .redirectErrorStream(true).start();
    }

    private static void makeOld(final Path... files) throws IOException
    {
        final FileTime old = FileTime.fromMillis(System.currentTimeMillis() - 2 * 60_000);
        for (final Path file : files)
        {
            Files.setLastModifiedTime(file, old);
        }
    }

    private List<String> names() throws IOException
    {
        try (Stream<Path> entries = Files.list(base))
        {
            return entries.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    /**
     * Child process. "hold FILE": holds the lock of FILE until its standard input ends. "probe FILE": prints
     * "held" if another process holds the lock of FILE, else "free".
     */
    public static final class LockHolder
    {
        public static void main(final String[] args) throws IOException
        {
            if (args[0].equals("probe"))
            {
                try (FileChannel channel = FileChannel.open(Path.of(args[1]), StandardOpenOption.WRITE);
                    FileLock lock = channel.tryLock())
                {
                    System.out.println(lock == null ? "held" : "free");
                }
                return;
            }
            try (FileChannel channel = FileChannel.open(Path.of(args[1]), StandardOpenOption.CREATE,
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
