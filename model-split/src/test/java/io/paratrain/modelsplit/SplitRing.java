package io.paratrain.modelsplit;

import io.paratrain.gradientsharing.Collective;
import io.paratrain.gradientsharing.CollectiveConfig;
import io.paratrain.gradientsharing.Endpoint;
import io.paratrain.gradientsharing.RingRendezvous;
import io.paratrain.gradientsharing.Transport;

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

/** Test fixture: N ranks of one collective as threads of this JVM, each rank's work on its own thread. */
final class SplitRing implements AutoCloseable
{
    final List<Collective> ranks;
    private final ExecutorService threads;

    private SplitRing(final List<Collective> ranks, final ExecutorService threads)
    {
        this.ranks = ranks;
        this.threads = threads;
    }

    static SplitRing connect(final Path driverBase, final int worldSize, final long timeoutMs) throws Exception
    {
        final CollectiveConfig config = CollectiveConfig.builder(ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE))
            .driverBaseDir(driverBase).transport(Transport.AUTO).timeoutMs(timeoutMs)
            .termBufferBytes(4 * 1024 * 1024).build();
        final ExecutorService threads = Executors.newFixedThreadPool(worldSize);
        final List<RingRendezvous> bound = new ArrayList<>();
        final List<Endpoint> endpoints = new ArrayList<>();
        for (int r = 0; r < worldSize; r++)
        {
            bound.add(RingRendezvous.bind(config, r, worldSize));
            endpoints.add(bound.get(r).endpoint());
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
        return new SplitRing(ranks, threads);
    }

    /** Runs {@code work} on every rank at once; returns each rank's result, rethrowing the first failure. */
    <T> List<T> onEveryRank(final IntFunction<T> work) throws Exception
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
                results.add(future.get(90, TimeUnit.SECONDS));
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

    @Override
    public void close()
    {
        ranks.forEach(Collective::close);
        threads.shutdownNow();
    }
}
