package io.paratrain.gradientsharing;

import io.paratrain.gradientsharing.exceptions.CollectiveAbortedException;
import io.paratrain.gradientsharing.exceptions.PeerFailedException;
import org.agrona.concurrent.NanoClock;
import org.agrona.concurrent.SystemNanoClock;
import org.junit.jupiter.api.AfterEach;
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
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A rank waiting for a silent peer stops as soon as its caller's abort signal gives a reason, or its thread is
 * interrupted, instead of waiting out the no-progress timeout (60 s here); the exception names the operation, what
 * it waited for and the reason, and the ring is told. On the wall clock, and for the signal also on simulated time,
 * where the stop comes exactly at the first check of the signal after it fired.
 */
@Timeout(60)
@ExtendWith(NoMediaDriverLeft.class)
class AbortedWaitTest
{
    private static final long TIMEOUT_MS = 60_000;
    private static final long STEP_MS = 4;
    /** How often a rank that makes no progress asks its abort signal (WaitGuard's interval). */
    private static final long CHECK_INTERVAL_MS = 20;

    @TempDir
    Path temp;

    private final ExecutorService threads = Executors.newFixedThreadPool(2);

    @AfterEach
    void threadsEnd() throws InterruptedException
    {
        threads.shutdownNow();
        assertTrue(threads.awaitTermination(10, TimeUnit.SECONDS));
    }

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
     * The signal fires at 300 ms of simulated time; rank 0, which asks it every 20 ms while no frame moves, stops at
     * the first of those checks from then on, whatever the load on the host.
     */
    @Test
    void theAbortSignalEndsAWaitAtTheNextCheckOnSimulatedTime() throws Exception
    {
        final SteppedClock clock = new SteppedClock(STEP_MS);
        final AbortSignal killedAt300Ms = () -> clock.elapsedMs() >= 300 ? "the task was killed" : null;
        final List<Collective> ranks = connect(killedAt300Ms, clock);
        try (Collective rank0 = ranks.get(0); Collective rank1 = ranks.get(1))
        {
            final long[] stoppedAtMs = new long[1];
            final Throwable failure = clock.failuresOf(1, rank ->
            {
                try
                {
                    rank0.allReduce(new float[1000], ReduceOp.SUM);
                    return null;
                }
                finally
                {
                    stoppedAtMs[0] = clock.elapsedMs();
                }
            }, 5_000).get(0);
            final CollectiveAbortedException aborted = assertInstanceOf(CollectiveAbortedException.class, failure);
            assertTrue(stoppedAtMs[0] >= 300 && stoppedAtMs[0] <= 300 + CHECK_INTERVAL_MS + 2 * STEP_MS,
                "rank 0 stopped at " + stoppedAtMs[0] + " ms of simulated time: " + failure);
            assertTrue(aborted.getMessage().matches("allReduce\\(SUM\\) on rank 0: stopped waiting for frame 0 of " +
                "\\d+ from rank 1 after \\d+ ms without progress: the task was killed"), aborted.getMessage());
            assertRankOneIsTold(rank1);
        }
    }

    /**
     * Rank 0 all-reduces while rank 1 does not; once rank 0 has waited 300 ms, {@code stop} is applied to its thread.
     * Returns rank 0's error after checking it came within 2 s (not the 60 s timeout) and that rank 1 heard of it.
     */
    private CollectiveAbortedException waitForSilentRank1(final AbortSignal signal, final Consumer<Thread> stop)
        throws Exception
    {
        final List<Collective> ranks = connect(signal, SystemNanoClock.INSTANCE);
        try (Collective rank0 = ranks.get(0); Collective rank1 = ranks.get(1))
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
            assertRankOneIsTold(rank1);
            return aborted;
        }
    }

    /** A ring of two whose rank 0 stops waiting when {@code signal} says so; both read {@code clock}. */
    private List<Collective> connect(final AbortSignal signal, final NanoClock clock) throws Exception
    {
        final CollectiveConfig config = TestRing.config(temp, Transport.AUTO).timeoutMs(TIMEOUT_MS).build();
        final List<RingRendezvous> bound = List.of(RingRendezvous.bind(config, 0, 2).abortWhen(signal).clock(clock),
            RingRendezvous.bind(config, 1, 2).clock(clock));
        final List<Endpoint> endpoints = List.of(bound.get(0).endpoint(), bound.get(1).endpoint());
        final List<Future<Collective>> connecting = new ArrayList<>();
        bound.forEach(rendezvous -> connecting.add(threads.submit(() -> rendezvous.connect(endpoints))));
        return List.of(connecting.get(0).get(30, TimeUnit.SECONDS), connecting.get(1).get(30, TimeUnit.SECONDS));
    }

    /** The ring hears of rank 0's stop: rank 1's next call fails at once, naming rank 0. */
    private void assertRankOneIsTold(final Collective rank1) throws Exception
    {
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
    }
}
