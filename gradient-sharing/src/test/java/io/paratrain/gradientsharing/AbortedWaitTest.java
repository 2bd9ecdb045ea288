package io.paratrain.gradientsharing;

import io.paratrain.gradientsharing.exceptions.CollectiveAbortedException;
import io.paratrain.gradientsharing.exceptions.PeerFailedException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A rank waiting for a silent peer stops as soon as its caller's abort signal gives a reason, or its thread is
 * interrupted, instead of waiting out the no-progress timeout (60 s here); the exception names the operation, what
 * it waited for and the reason, and the ring is told.
 */
@Timeout(60)
@ExtendWith(NoMediaDriverLeft.class)
class AbortedWaitTest
{
    private static final long TIMEOUT_MS = 60_000;

    @TempDir
    Path temp;

    @Test
    void theAbortSignalEndsAWaitForASilentPeerAtOnce() throws Exception
    {
        final AtomicReference<String> reason = new AtomicReference<>();
        final CollectiveAbortedException aborted = waitForSilentRank1(reason::get, thread -> reason.set(
            "the task was killed"));
        assertTrue(aborted.getMessage().matches("allReduce\\(SUM\\) on rank 0: stopped waiting for frame 0 of \\d+ " +
            "from rank 1 after \\d+ ms without progress: the task was killed"), aborted.getMessage());
    }

    @Test
    void anInterruptEndsAWaitForASilentPeerAtOnce() throws Exception
    {
        final CollectiveAbortedException aborted = waitForSilentRank1(AbortSignal.NEVER, Thread::interrupt);
        assertTrue(aborted.getMessage().endsWith("without progress: the thread was interrupted"),
            aborted.getMessage());
    }

    /**
     * Rank 0 all-reduces while rank 1 does not; once rank 0 has waited 300 ms, {@code stop} is applied to its thread.
     * Returns rank 0's error after checking it came within 2 s (not the 60 s timeout) and that rank 1 heard of it.
     */
    private CollectiveAbortedException waitForSilentRank1(final AbortSignal signal,
        final java.util.function.Consumer<Thread> stop) throws Exception
    {
        final CollectiveConfig config = TestRing.config(temp, Transport.AUTO).timeoutMs(TIMEOUT_MS).build();
        final ExecutorService threads = Executors.newFixedThreadPool(2);
        final List<RingRendezvous> bound = List.of(RingRendezvous.bind(config, 0, 2).abortWhen(signal),
            RingRendezvous.bind(config, 1, 2));
        final List<Endpoint> endpoints = List.of(bound.get(0).endpoint(), bound.get(1).endpoint());
        final List<Future<Collective>> connecting = new ArrayList<>();
        bound.forEach(rendezvous -> connecting.add(threads.submit(() -> rendezvous.connect(endpoints))));
        try (Collective rank0 = connecting.get(0).get(30, TimeUnit.SECONDS);
            Collective rank1 = connecting.get(1).get(30, TimeUnit.SECONDS))
        {
            final AtomicReference<Thread> rank0Thread = new AtomicReference<>();
            final Future<Throwable> waiting = threads.submit(() ->
            {
                rank0Thread.set(Thread.currentThread());
                try
                {
                    rank0.allReduce(new float[1000], ReduceOp.SUM);
                    return null;
                }
                catch (final RuntimeException ex)
                {
                    return ex;
                }
                finally
                {
                    Thread.interrupted(); // the pool's thread is reused
                }
            });
            Thread.sleep(300);
            final long stoppedAtNs = System.nanoTime();
            stop.accept(rank0Thread.get());
            final Throwable failure = waiting.get(10, TimeUnit.SECONDS);
            final long afterMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - stoppedAtNs);
            assertTrue(afterMs < 2_000, "rank 0 stopped " + afterMs + " ms after the abort: " + failure);
            final CollectiveAbortedException aborted = assertInstanceOf(CollectiveAbortedException.class, failure);
            // the ring hears of it: rank 1's next call fails at once, naming rank 0
            final PeerFailedException told = assertInstanceOf(PeerFailedException.class, threads.submit(() ->
            {
                try
                {
                    rank1.allReduce(new float[1000], ReduceOp.SUM);
                    return null;
                }
                catch (final RuntimeException ex)
                {
                    return ex;
                }
            }).get(10, TimeUnit.SECONDS));
            assertEquals(0, told.failedRank(), told.getMessage());
            return aborted;
        }
        finally
        {
            threads.shutdownNow();
            assertTrue(threads.awaitTermination(10, TimeUnit.SECONDS));
        }
    }
}
