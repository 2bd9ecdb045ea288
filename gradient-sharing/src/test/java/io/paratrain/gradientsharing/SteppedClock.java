package io.paratrain.gradientsharing;

import org.agrona.concurrent.NanoClock;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntFunction;

/**
 * Simulated time for the ring's deadline and blame decisions (given to the ring through
 * {@link RingRendezvous#clock}). Time stands still until {@link #stepUntilAllLeft} moves it on by one step, and
 * it moves on only after every thread taking part ({@link #join}) has read it twice since the last step, that is
 * has gone once more round its wait loop (poll, then read the clock). A rank whose thread the OS does not run for
 * a while therefore holds time still instead of missing its deadlines, and the outcome is the same on a loaded host
 * as on an idle one. The ring code is the real one over a real media driver; only its clock is simulated.
 * <p>
 * Frames still travel in real time. Over IPC ({@link Transport#AUTO} with every rank in this JVM) a frame that a
 * rank commits before reading the clock is in the log its neighbour polls before its next read, so it arrives
 * within two steps of simulated time; over UDP it also waits for the driver's threads, which no step waits for.
 */
public final class SteppedClock implements NanoClock
{
    /** Not zero, like the system's clock: the ring's "last time" fields start at zero. */
    private static final long START_NS = TimeUnit.HOURS.toNanos(1);
    /** Real time a participant may go without reading the clock, or a step without participants, before failing. */
    private static final long STUCK_NS = TimeUnit.SECONDS.toNanos(30);

    private final long stepNs;
    private final Map<Thread, AtomicLong> readsByParticipant = new ConcurrentHashMap<>();
    private final AtomicInteger joined = new AtomicInteger();
    private volatile long nowNs = START_NS;

    public SteppedClock(final long stepMs)
    {
        this.stepNs = TimeUnit.MILLISECONDS.toNanos(stepMs);
    }

    @Override
    public long nanoTime()
    {
        final AtomicLong reads = readsByParticipant.get(Thread.currentThread());
        if (reads != null)
        {
            reads.incrementAndGet();
        }
        return nowNs;
    }

    /** Simulated milliseconds since the start. */
    public long elapsedMs()
    {
        return TimeUnit.NANOSECONDS.toMillis(nanoTime() - START_NS);
    }

    /** The calling thread takes part: no step until it has read the clock twice since the last, or has left. */
    public void join()
    {
        readsByParticipant.put(Thread.currentThread(), new AtomicLong());
        joined.incrementAndGet();
    }

    public void leave()
    {
        readsByParticipant.remove(Thread.currentThread());
    }

    /** A participant's pause of {@code ms} simulated milliseconds (a rank computing). */
    public void sleepMs(final long ms)
    {
        final long untilNs = nanoTime() + TimeUnit.MILLISECONDS.toNanos(ms);
        while (nanoTime() - untilNs < 0)
        {
            LockSupport.parkNanos(10_000);
        }
    }

    /**
     * Steps time until every participant has left, once {@code participants} threads have joined. Fails if they
     * do not join, if a participant does not read the clock within 30 s of real time, or when simulated time
     * passes {@code maxMs}.
     */
    public void stepUntilAllLeft(final int participants, final long maxMs)
    {
        awaitReal(() -> joined.get() >= participants, "only " + joined.get() + " of " + participants + " joined");
        while (!readsByParticipant.isEmpty())
        {
            if (elapsedMs() > maxMs)
            {
                throw new AssertionError("simulated time passed " + maxMs + " ms with " + readsByParticipant.size() +
                    " participant(s) still running: " + readsByParticipant.keySet());
            }
            nowNs += stepNs;
            // counted after the step: a read counted from here on returns the new time
            final Map<Thread, Long> readsAtStep = new HashMap<>();
            readsByParticipant.forEach((thread, reads) -> readsAtStep.put(thread, reads.get()));
            awaitReal(() -> readsAtStep.entrySet().stream().allMatch(entry ->
            {
                final AtomicLong reads = readsByParticipant.get(entry.getKey());
                return reads == null || reads.get() >= entry.getValue() + 2;
            }), "a participant did not read the clock at " + elapsedMs() + " ms: " + readsAtStep.keySet());
        }
    }

    /**
     * Runs {@code task(0) .. task(count - 1)} each on a thread of its own as a participant, while the calling thread
     * steps time until all have ended (see {@link #stepUntilAllLeft}); returns each task's exception, or null.
     */
    public List<Throwable> failuresOf(final int count, final IntFunction<Object> task, final long maxMs)
        throws Exception
    {
        final ExecutorService threads = Executors.newFixedThreadPool(count);
        try
        {
            final List<Future<Object>> running = new ArrayList<>();
            for (int i = 0; i < count; i++)
            {
                final int index = i;
                running.add(threads.submit(() ->
                {
                    join();
                    try
                    {
                        return task.apply(index);
                    }
                    finally
                    {
                        leave();
                    }
                }));
            }
            stepUntilAllLeft(count, maxMs);
            return TestRing.failuresOf(running);
        }
        finally
        {
            threads.shutdownNow();
            if (!threads.awaitTermination(30, TimeUnit.SECONDS))
            {
                throw new AssertionError("the tasks' threads did not end");
            }
        }
    }

    private static void awaitReal(final java.util.function.BooleanSupplier condition, final String failure)
    {
        final long deadlineNs = System.nanoTime() + STUCK_NS;
        while (!condition.getAsBoolean())
        {
            if (System.nanoTime() - deadlineNs > 0)
            {
                throw new AssertionError(failure + " (waited 30 s of real time)");
            }
            LockSupport.parkNanos(20_000);
        }
    }
}
