package io.paratrain.gradientsharing.internal;

import io.aeron.Aeron;
import io.aeron.AeronCounters;
import io.aeron.CncFileDescriptor;
import io.aeron.CommonContext;
import io.aeron.driver.Configuration;
import io.aeron.driver.MediaDriver;
import io.aeron.driver.ThreadingMode;
import io.paratrain.gradientsharing.exceptions.TransportException;
import org.agrona.CloseHelper;
import org.agrona.IoUtil;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.ringbuffer.ManyToOneRingBuffer;
import org.agrona.concurrent.ringbuffer.RingBuffer;
import org.agrona.concurrent.status.CountersReader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.MappedByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * One embedded Aeron media driver per driver directory, shared by every collective that uses that directory:
 * in this JVM by reference counting, across JVMs on one host by attaching to the driver that the first JVM
 * launched (a file lock beside the directory serialises launch, attach and shutdown).
 * <p>
 * The JVM that launched the driver owns it: when its last local user leaves it waits (up to the close timeout)
 * for clients of other JVMs to detach, then stops the driver, which deletes the directory.
 * <p>
 * Before launching or attaching, it removes what JVMs killed with SIGKILL left in the same base folder: lock files
 * no process holds, and directories of drivers dead for longer than Aeron's driver timeout ({@link DriverDirLock}).
 * <p>
 * A JVM that attached to another JVM's driver loses it when that JVM dies: {@link #lostReason} tells a waiting rank
 * so within {@link #DRIVER_SILENT_MS}, where Aeron's own client would notice only after its driver timeout.
 */
public final class SharedMediaDriver
{
    private static final Logger LOG = LoggerFactory.getLogger(SharedMediaDriver.class);
    private static final String DRIVER_ID_FILE = "paratrain-driver.id";
    /** Every driver directory's name starts so (see CollectiveConfig#driverDir). */
    public static final String DIR_PREFIX = "paratrain-aeron-";
    private static final Map<Path, SharedMediaDriver> BY_DIR = new HashMap<>();
    /** Every folder this JVM launched a driver in (tests check that none is left behind). */
    private static final Set<Path> LAUNCHED_DIRS = ConcurrentHashMap.newKeySet();
    /**
     * A driver whose heartbeat (written by its conductor once per timer interval, Aeron's default 1 s) is older than
     * this and whose process has ended is gone. A driver that is only silent (its JVM paused by SIGSTOP or a long GC)
     * keeps its process: then the collective's no-progress timeout decides.
     */
    static final long DRIVER_SILENT_MS = 2_500;
    /** A client of another JVM whose keepalive is older than this is dead or frozen: the close does not wait for it. */
    static final long CLIENT_SILENT_MS = 2_000;

    private final Path dir;
    private final MediaDriver ownedDriver;
    private final Aeron aeron;
    private final String driverId;
    /**
     * This JVM's own mapping of the CnC file of a driver it attached to (null if it launched it), for the driver's
     * heartbeat: Aeron's client unmaps its mapping when it closes itself after its driver timeout, so reading the
     * heartbeat through the client could touch unmapped memory. Unmapped by the last {@link #release}.
     */
    private final MappedByteBuffer cnc;
    private final RingBuffer toDriver;
    /** The process that runs the driver: this JVM's own when it launched it. */
    private final long driverPid;
    private int users;
    /** One of {@link #users} is a {@link #prelaunch}'s, not yet taken over by an {@link #acquire}. */
    private boolean leased;

    private SharedMediaDriver(final Path dir, final MediaDriver ownedDriver, final Aeron aeron, final String driverId)
    {
        this.dir = dir;
        this.ownedDriver = ownedDriver;
        this.aeron = aeron;
        this.driverId = driverId;
        this.cnc = ownedDriver != null ? null : mapCnc(dir);
        final UnsafeBuffer metaData = cnc == null ? null : CncFileDescriptor.createMetaDataBuffer(cnc);
        this.toDriver = cnc == null ? null : new ManyToOneRingBuffer(CncFileDescriptor.createToDriverBuffer(cnc,
            metaData));
        this.driverPid = ownedDriver != null ? ProcessHandle.current().pid() : metaData == null ? 0 :
            CncFileDescriptor.pid(metaData);
    }

    /**
     * Returns the driver for {@code dir}, launching or attaching to one first if this JVM has none yet. The first
     * acquire after a {@link #prelaunch} takes over its reference.
     */
    public static SharedMediaDriver acquire(final Path dir, final long timeoutMs)
    {
        synchronized (BY_DIR)
        {
            SharedMediaDriver shared = BY_DIR.get(dir);
            if (shared == null)
            {
                shared = launchOrAttach(dir, timeoutMs);
                BY_DIR.put(dir, shared);
            }
            if (shared.leased)
            {
                shared.leased = false;
            }
            else
            {
                shared.users++;
            }
            return shared;
        }
    }

    /**
     * Launches or attaches to the driver for {@code dir} on a thread of its own, for an {@link #acquire} that this
     * JVM will make soon: a launch in a fresh JVM takes 200-300 ms, most of it loading and running cold code,
     * which can overlap other start-up work. Closing the returned lease gives the reference up if no acquire took
     * it over (the driver then stops, as after a last release); a failed launch is only logged, as the acquire
     * will try again and report it.
     */
    public static AutoCloseable prelaunch(final Path dir, final long timeoutMs, final long closeTimeoutMs)
    {
        final CompletableFuture<SharedMediaDriver> launched = new CompletableFuture<>();
        final Thread thread = new Thread(() ->
        {
            try
            {
                synchronized (BY_DIR)
                {
                    if (BY_DIR.containsKey(dir))
                    {
                        launched.complete(null); // in use already: nothing to lease
                        return;
                    }
                    final SharedMediaDriver shared = launchOrAttach(dir, timeoutMs);
                    shared.users = 1;
                    shared.leased = true;
                    BY_DIR.put(dir, shared);
                    launched.complete(shared);
                }
            }
            catch (final RuntimeException ex)
            {
                LOG.debug("Prelaunch of the media driver in {} failed: {}", dir, ex.toString());
                launched.complete(null);
            }
        }, "paratrain-driver-prelaunch");
        thread.setDaemon(true);
        thread.start();
        return () -> launched.thenAccept(shared ->
        {
            if (shared != null)
            {
                shared.endLease(closeTimeoutMs);
            }
        });
    }

    private void endLease(final long closeTimeoutMs)
    {
        synchronized (BY_DIR)
        {
            if (leased)
            {
                leased = false;
                release(closeTimeoutMs);
            }
        }
    }

    /** Gives back one reference; the last one closes the client and, if this JVM launched it, the driver. */
    public void release(final long closeTimeoutMs)
    {
        synchronized (BY_DIR)
        {
            if (--users > 0)
            {
                return;
            }
            BY_DIR.remove(dir);
            if (ownedDriver == null)
            {
                CloseHelper.quietClose(aeron);
                if (cnc != null)
                {
                    IoUtil.unmap(cnc);
                }
                return;
            }
            // Spark interrupts the tasks of a failed stage, and an interrupted thread cannot lock a file
            // (FileLockInterruptionException): the driver would stop without its lock file being deleted.
            final boolean interrupted = Thread.interrupted();
            try (DriverDirLock lock = DriverDirLock.acquire(dir))
            {
                awaitOtherClientsGone(closeTimeoutMs);
                CloseHelper.quietClose(aeron);
                CloseHelper.quietClose(ownedDriver);
                lock.deleteFile(dir);
            }
            catch (final IOException ex)
            {
                CloseHelper.quietCloseAll(aeron, ownedDriver);
                LOG.warn("Could not lock {} to stop the media driver cleanly: {}", DriverDirLock.lockFile(dir),
                    ex.toString());
            }
            finally
            {
                if (interrupted)
                {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    public Aeron aeron()
    {
        return aeron;
    }

    /** Random id of the driver; equal ids mean two ranks can talk over IPC. */
    public String driverId()
    {
        return driverId;
    }

    /**
     * Null while the media driver may be alive; otherwise why it is gone: it ran in another JVM that has ended (its
     * heartbeat stopped and its process is gone). A driver whose JVM is only paused is alive, also after Aeron's
     * client gave up on it. Cheap (a volatile read, and a look at the process table only once the heartbeat is
     * stale); for a rank that waits for a peer. Call while holding a reference ({@link #acquire}).
     */
    public String lostReason()
    {
        if (toDriver == null)
        {
            return null; // it runs in this JVM, which is alive (or its CnC file could not be read)
        }
        final long silentMs = System.currentTimeMillis() - toDriver.consumerHeartbeatTime();
        if (silentMs < DRIVER_SILENT_MS || driverPid <= 0 ||
            ProcessHandle.of(driverPid).map(ProcessHandle::isAlive).orElse(false))
        {
            return null;
        }
        return "the media driver in " + dir + " is gone: the process that ran it (pid " + driverPid + ", another " +
            "rank's JVM) has ended and the driver's last heartbeat was " + silentMs + " ms ago";
    }

    /**
     * The folders of the drivers this JVM launched that still exist although no driver of this JVM uses them any
     * more; tests use it to prove nothing is left behind.
     */
    public static List<Path> launchedFoldersLeft()
    {
        synchronized (BY_DIR)
        {
            return LAUNCHED_DIRS.stream().filter(dir -> !BY_DIR.containsKey(dir) && Files.exists(dir)).toList();
        }
    }

    /** Number of live drivers this JVM holds; tests use it to prove nothing is left behind. */
    public static int openCount()
    {
        synchronized (BY_DIR)
        {
            return BY_DIR.size();
        }
    }

    private static SharedMediaDriver launchOrAttach(final Path dir, final long timeoutMs)
    {
        try
        {
            Files.createDirectories(dir.getParent());
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot create media driver base folder " + dir.getParent(), ex);
        }
        DriverDirLock.removeStale(dir, DIR_PREFIX, CommonContext.DEFAULT_DRIVER_TIMEOUT_MS);
        try (DriverDirLock ignored = DriverDirLock.acquire(dir))
        {
            if (CommonContext.isDriverActive(dir.toFile(), timeoutMs, msg -> LOG.debug("{}", msg)) &&
                Files.exists(dir.resolve(DRIVER_ID_FILE)))
            {
                final String driverId = Files.readString(dir.resolve(DRIVER_ID_FILE), StandardCharsets.UTF_8).trim();
                LOG.debug("Attaching to media driver {} in {}", driverId, dir);
                return new SharedMediaDriver(dir, null, connect(dir, timeoutMs), driverId);
            }
            final MediaDriver driver = MediaDriver.launchEmbedded(new MediaDriver.Context()
                .aeronDirectoryName(dir.toString())
                .dirDeleteOnStart(true)
                .dirDeleteOnShutdown(true)
                .warnIfDirectoryExists(false)
                .threadingMode(ThreadingMode.SHARED)
                // Sparse log buffers: pre-filling a 3 x 16 MiB IPC log took ~190 ms per publication (the conductor,
                // shared by both ranks of a host, fills them one after the other), sparse ones ~10 ms; their
                // pages are faulted in during the first steps instead (~4 ms per MB on the 2-core VM here, which is
                // why terms are 8 MiB: CollectiveConfig.DEFAULT_TERM_BUFFER_BYTES).
                .termBufferSparseFile(true)
                // The CnC file is zero-filled at launch: 48 MB with the default 8 MB of counter values (and their
                // 4x metadata), 11.5 MB with Aeron's minimum of 1 MB. Measured launch 360-480 ms vs 220-245 ms.
                // 1 MB still holds 8,192 counters; each publication, subscription and client takes a few.
                .counterValuesBufferLength(Configuration.COUNTERS_VALUES_BUFFER_LENGTH_MIN)
                .errorHandler(ex -> LOG.warn("Aeron media driver in {}: {}", dir, ex.toString())));
            LAUNCHED_DIRS.add(dir);
            final String driverId = UUID.randomUUID().toString().replace("-", "").substring(0, 16);
            Files.writeString(dir.resolve(DRIVER_ID_FILE), driverId, StandardCharsets.UTF_8);
            LOG.debug("Launched media driver {} in {}", driverId, dir);
            try
            {
                return new SharedMediaDriver(dir, driver, connect(dir, timeoutMs), driverId);
            }
            catch (final RuntimeException ex)
            {
                CloseHelper.quietClose(driver);
                throw ex;
            }
        }
        catch (final IOException ex)
        {
            throw new TransportException("cannot launch or attach to the media driver in " + dir + ": " + ex, ex);
        }
    }

    private static Aeron connect(final Path dir, final long timeoutMs)
    {
        return Aeron.connect(new Aeron.Context()
            .aeronDirectoryName(dir.toString())
            .driverTimeoutMs(Math.max(timeoutMs, 10_000))
            .errorHandler(ex -> LOG.warn("Aeron client of {}: {}", dir, ex.toString())));
    }

    /** The driver's CnC file, mapped; null if it cannot be (then {@link #lostReason} never reports a loss). */
    private static MappedByteBuffer mapCnc(final Path dir)
    {
        try
        {
            return IoUtil.mapExistingFile(dir.resolve(CncFileDescriptor.CNC_FILE).toFile(), "cnc");
        }
        catch (final RuntimeException ex)
        {
            LOG.warn("Cannot map the media driver's CnC file in {}: a dead driver will be noticed only by the " +
                "collective's timeout: {}", dir, ex.toString());
            return null;
        }
    }

    private void awaitOtherClientsGone(final long closeTimeoutMs)
    {
        final long deadlineNs = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(closeTimeoutMs);
        int others;
        while ((others = countOtherClients()) > 0)
        {
            if (System.nanoTime() - deadlineNs >= 0)
            {
                LOG.warn("Stopping media driver in {} while {} client(s) of other JVMs are still attached " +
                    "(waited {} ms)", dir, others, closeTimeoutMs);
                return;
            }
            try
            {
                Thread.sleep(10); // shutdown path, not a hot loop: poll the driver's client table
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /**
     * Clients of other JVMs that are alive: a killed JVM's client stays in the driver's table until the driver's
     * client liveness timeout (10 s) removes it, and waiting for that held the slot of a failed task for the whole
     * close timeout; its keepalive (the counter's value, refreshed every 500 ms) has stopped, so it is not counted.
     */
    private int countOtherClients()
    {
        final CountersReader counters = aeron.countersReader();
        final long ownId = aeron.clientId();
        final long nowMs = System.currentTimeMillis();
        final int[] others = {0};
        counters.forEach((counterId, typeId, keyBuffer, label) ->
        {
            if (typeId == AeronCounters.DRIVER_HEARTBEAT_TYPE_ID && keyBuffer.getLong(0) != ownId &&
                nowMs - counters.getCounterValue(counterId) < CLIENT_SILENT_MS)
            {
                others[0]++;
            }
        });
        return others[0];
    }
}
