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
import java.security.SecureRandom;
import java.util.Arrays;

/**
 * The lock file beside a media driver directory ({@code <dir>.lock}), which serialises launch, attach and shutdown
 * of the driver across JVMs, and the removal of the ones a killed JVM left behind.
 * <p>
 * A JVM killed with SIGKILL cannot delete its lock file (nor, if it ran the driver, the driver's directory);
 * sessions are unique, so nobody would ever use them again. {@link #removeStale} deletes such files while holding
 * their lock, so never one that a live process holds, and never beside a driver that is still alive (a lock file
 * with no directory beside it is also what a JVM about to launch a driver has: it then simply locks a new one).
 * A JVM that had opened a lock file just before it was deleted would then lock a file that no longer has a name,
 * while another JVM locks a new file of that name: {@link #acquire} therefore checks, once it holds the lock, that the
 * name still leads to the file it locked (it writes a random tag through its channel and reads it back by name)
 * and starts again if not.
 */
public final class DriverDirLock implements AutoCloseable
{
    private static final Logger LOG = LoggerFactory.getLogger(DriverDirLock.class);
    private static final String SUFFIX = ".lock";
    private static final int TAG_BYTES = 16;
    private static final SecureRandom RANDOM = new SecureRandom();

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
                if (stillNamed(channel, path))
                {
                    return new DriverDirLock(channel, lock);
                }
                LOG.debug("{} was removed while this process waited for its lock; locking the new one", path);
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
     * Deletes the lock files beside {@code driverDir} (same name prefix) that no process holds and whose driver is
     * gone or has not been alive for {@code driverTimeoutMs}, with that driver's directory; returns how many.
     * Best effort: a file that cannot be examined or deleted is left alone.
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
                if (!stillNamed(channel, path))
                {
                    return false; // removed and created anew since it was opened here: someone else's now
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

    /** Whether {@code path} still names the file locked through {@code channel}. */
    private static boolean stillNamed(final FileChannel channel, final Path path) throws IOException
    {
        final byte[] tag = new byte[TAG_BYTES];
        RANDOM.nextBytes(tag);
        final ByteBuffer buffer = ByteBuffer.wrap(tag);
        while (buffer.hasRemaining())
        {
            channel.write(buffer, buffer.position());
        }
        try
        {
            final byte[] named = Files.readAllBytes(path);
            return named.length >= TAG_BYTES && Arrays.equals(tag, Arrays.copyOf(named, TAG_BYTES));
        }
        catch (final NoSuchFileException ex)
        {
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
