package io.paratrain.gradientsharing;

import org.agrona.concurrent.NanoClock;
import org.agrona.concurrent.SystemNanoClock;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;

/**
 * Test fixture: a ring of ranks as threads in this JVM, each rank's work run on its own thread. Shared with the
 * other modules' tests through gradient-sharing's test jar.
 */
public final class TestRing implements AutoCloseable
{
    public final List<Collective> ranks;
    public final List<Endpoint> endpoints;
    private final ExecutorService threads;

    private TestRing(final List<Collective> ranks, final List<Endpoint> endpoints, final ExecutorService threads)
    {
        this.ranks = ranks;
        this.endpoints = endpoints;
        this.threads = threads;
    }

    public static CollectiveConfig.Builder config(final Path driverBase, final Transport transport)
    {
        return CollectiveConfig.builder(ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE))
            .driverBaseDir(driverBase)
            .transport(transport)
            .timeoutMs(10_000)
            .termBufferBytes(4 * 1024 * 1024);
    }

    public static TestRing connect(final CollectiveConfig config, final int worldSize) throws Exception
    {
        return connect(config, worldSize, SystemNanoClock.INSTANCE);
    }

    /** A ring whose deadlines and blame read {@code clock} (a {@link SteppedClock} for simulated time). */
    public static TestRing connect(final CollectiveConfig config, final int worldSize, final NanoClock clock)
        throws Exception
    {
        final ExecutorService threads = Executors.newFixedThreadPool(worldSize);
        final List<RingRendezvous> bound = new ArrayList<>();
        final List<Endpoint> endpoints = new ArrayList<>();
        for (int r = 0; r < worldSize; r++)
        {
            final RingRendezvous rendezvous = RingRendezvous.bind(config, r, worldSize).clock(clock);
            bound.add(rendezvous);
            endpoints.add(rendezvous.endpoint());
        }
        final List<Future<Collective>> connecting = new ArrayList<>();
        for (final RingRendezvous rendezvous : bound)
        {
            connecting.add(threads.submit(() -> rendezvous.connect(endpoints)));
        }
        final List<Collective> ranks = new ArrayList<>();
        for (final Future<Collective> future : connecting)
        {
            ranks.add(future.get(30, TimeUnit.SECONDS));
        }
        return new TestRing(ranks, endpoints, threads);
    }

    /** Runs {@code work} for every rank at once and returns each rank's result, rethrowing the first failure. */
    public <T> List<T> onEveryRank(final IntFunction<T> work) throws Exception
    {
        final List<Future<T>> futures = new ArrayList<>();
        for (int r = 0; r < ranks.size(); r++)
        {
            final int rank = r;
            futures.add(threads.submit(() -> work.apply(rank)));
        }
        final List<T> results = new ArrayList<>();
        for (final Future<T> future : futures)
        {
            try
            {
                results.add(future.get(60, TimeUnit.SECONDS));
            }
            catch (final ExecutionException ex)
            {
                if (ex.getCause() instanceof Exception cause)
                {
                    throw cause;
                }
                throw ex;
            }
        }
        return results;
    }

    /** Like {@link #onEveryRank} but returns each rank's exception (or null) instead of throwing. */
    public List<Throwable> failuresOnEveryRank(final IntFunction<Object> work) throws Exception
    {
        final List<Future<Object>> futures = new ArrayList<>();
        for (int r = 0; r < ranks.size(); r++)
        {
            final int rank = r;
            futures.add(threads.submit(() -> work.apply(rank)));
        }
        return failuresOf(futures);
    }

    /** Each task's exception, or null, waiting up to 60 s for each. */
    static List<Throwable> failuresOf(final List<Future<Object>> futures) throws Exception
    {
        final List<Throwable> failures = new ArrayList<>();
        for (final Future<Object> future : futures)
        {
            try
            {
                future.get(60, TimeUnit.SECONDS);
                failures.add(null);
            }
            catch (final ExecutionException ex)
            {
                failures.add(ex.getCause());
            }
        }
        return failures;
    }

    @Override
    public void close()
    {
        ranks.forEach(Collective::close);
        threads.shutdownNow();
    }
}
