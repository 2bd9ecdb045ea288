package io.paratrain.gradientsharing.internal;

import io.aeron.CommonContext;
import org.agrona.IoUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The lock file beside a media driver directory ({@code <dir>.lock}), which serialises launch, attach and shutdown
 * of the driver across JVMs, and the removal of the ones a killed JVM left behind.
 * <p>
 * A JVM killed with SIGKILL cannot delete its lock file (nor, if it ran the driver, the driver's directory);
 * sessions are unique, so nobody would ever use them again. {@link #removeStale} deletes such a file only while
 * holding its lock (so never one a live process holds), when no live driver is beside it, and when it has not been
 * locked for {@link #STALE_AFTER_MS}: {@link #acquire} writes a byte through the locked channel, which refreshes the
 * file's modification time. So a JVM about to lock a lock file that was just created or used, for a driver being
 * launched, attached or stopped, never finds it deleted under it. If it finds its file gone once it holds the lock
 * it starts again. The name is never opened a second time while locked: on Linux, closing any descriptor of a
 * file drops the process's lock on it.
 */
public final class DriverDirLock implements AutoCloseable
{
    private static final Logger LOG = LoggerFactory.getLogger(DriverDirLock.class);
    private static final String SUFFIX = ".lock";
    /** A lock file not locked for this long, with no live driver beside it, belongs to nobody. */
    public static final long STALE_AFTER_MS = 60_000;
    private static final ByteBuffer ONE_BYTE = ByteBuffer.allocate(1).asReadOnlyBuffer();

    private final FileChannel channel;
    private final FileLock lock;

    private DriverDirLock(final FileChannel channel, final FileLock lock)
    {
        this.channel = channel;
        this.lock = lock;
    }

    public static Path lockFile(final Path driverDir)
    {
        return driverDir.resolveSibling(driverDir.getFileName() + SUFFIX);
    }

    /** Blocks until this process holds the lock of {@code driverDir} (other JVMs hold it only for moments). */
    public static DriverDirLock acquire(final Path driverDir) throws IOException
    {
        final Path path = lockFile(driverDir);
        while (true)
        {
            final FileChannel channel = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
            try
            {
                final FileLock lock = channel.lock();
                channel.write(ONE_BYTE.duplicate(), 0); // refreshes the modification time: not stale
                if (Files.exists(path))
                {
                    return new DriverDirLock(channel, lock);
                }
                LOG.debug("{} was removed while this process waited for its lock; locking a new one", path);
            }
            catch (final IOException | RuntimeException ex)
            {
                channel.close();
                throw ex;
            }
            channel.close();
        }
    }

    /**
     * Deletes the lock files beside {@code driverDir} (same name prefix) that no process holds, that were not locked
     * for {@link #STALE_AFTER_MS} and whose driver is gone or has not been alive for {@code driverTimeoutMs}, with
     * that driver's directory; returns how many. Best effort: a file that cannot be examined or deleted is left alone.
     * Call it holding no lock of this class: closing a descriptor would drop a lock this process holds.
     */
    public static int removeStale(final Path driverDir, final String namePrefix, final long driverTimeoutMs)
    {
        final Path own = lockFile(driverDir);
        int removed = 0;
        try (DirectoryStream<Path> locks = Files.newDirectoryStream(driverDir.getParent(), namePrefix + "*" + SUFFIX))
        {
            for (final Path path : locks)
            {
                if (!path.equals(own) && removeIfStale(path, driverTimeoutMs))
                {
                    removed++;
                }
            }
        }
        catch (final IOException ex)
        {
            LOG.warn("Could not look for stale media driver lock files in {}: {}", driverDir.getParent(),
                ex.toString());
        }
        return removed;
    }

    private static boolean removeIfStale(final Path path, final long driverTimeoutMs)
    {
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE))
        {
            final FileLock lock = channel.tryLock();
            if (lock == null)
            {
                return false; // a live process holds it
            }
            try
            {
                final long ageMs = System.currentTimeMillis() - Files.getLastModifiedTime(path).toMillis();
                if (ageMs < STALE_AFTER_MS)
                {
                    return false; // locked recently: a driver may be about to start, attach or stop
                }
                final String name = path.getFileName().toString();
                final Path driverDir = path.resolveSibling(name.substring(0, name.length() - SUFFIX.length()));
                if (Files.exists(driverDir) &&
                    CommonContext.isDriverActive(driverDir.toFile(), driverTimeoutMs, message -> { }))
                {
                    return false;
                }
                if (Files.exists(driverDir))
                {
                    IoUtil.delete(driverDir.toFile(), false);
                }
                Files.deleteIfExists(path);
                LOG.info("Removed {} left by a process that ended without stopping its media driver", path);
                return true;
            }
            finally
            {
                lock.release();
            }
        }
        catch (final NoSuchFileException | OverlappingFileLockException ex)
        {
            return false; // gone meanwhile, or held by this JVM
        }
        catch (final IOException | RuntimeException ex)
        {
            LOG.warn("Could not remove stale lock file {}: {}", path, ex.toString());
            return false;
        }
    }

    /** Deletes the lock file; call while holding the lock, when the driver directory is gone. */
    public void deleteFile(final Path driverDir) throws IOException
    {
        Files.deleteIfExists(lockFile(driverDir));
    }

    @Override
    public void close() throws IOException
    {
        try
        {
            lock.release();
        }
        finally
        {
            channel.close();
        }
    }
}
