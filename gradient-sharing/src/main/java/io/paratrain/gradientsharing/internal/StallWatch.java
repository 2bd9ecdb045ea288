package io.paratrain.gradientsharing.internal;

import io.paratrain.gradientsharing.exceptions.CollectiveTimeoutException;
import org.agrona.concurrent.NanoClock;

import java.util.concurrent.TimeUnit;

/**
 * Decides, while an operation makes no progress, whether to wait on, and whom to blame when not.
 * <p>
 * Blame goes to the rank that is really silent, not to the first rank whose deadline happens to expire. Ranks
 * wait for their left neighbour, so when rank s stalls, rank s+1 waits for s, rank s+2 (which may have started
 * waiting earlier) waits for s+1, and so on. A rank that has made no progress for a quarter of the timeout tells
 * its right neighbour with a WAITING frame, every quarter timeout. A rank whose left neighbour keeps saying so
 * knows that neighbour is alive and blocked further up the ring, so it lets its own deadline run on, up to twice
 * the timeout, by which time the rank next to the silent one has timed out and its ABORT names the silent rank.
 * Only index progress counts: WAITING, stale or foreign frames do not reset a deadline.
 * <p>
 * While no frame moves, a {@link WaitGuard} is asked every few milliseconds whether the wait is pointless (the
 * caller aborted, the thread was interrupted, the media driver's process died); then the operation fails at once
 * instead of at the timeout, which stays for peers that are alive but silent.
 * <p>
 * Every time here is read from one {@link NanoClock}: the system's in production, a simulated one in tests.
 */
final class StallWatch
{
    /** A rank that waits longer than timeout / this tells its right neighbour, and again every such interval. */
    private static final int WAITING_PER_TIMEOUT = 4;
    /** A WAITING frame counts as fresh for this many intervals (one may be late on a loaded host). */
    private static final int WAITING_FRESH_INTERVALS = 2;
    /** A rank whose left neighbour is waiting for another rank gives up at this multiple of the timeout. */
    private static final int DEFERRED_TIMEOUTS = 2;

    private final OperationCursor cursor;
    private final FrameSender sender;
    private final WaitGuard guard;
    private final NanoClock clock;
    private final long timeoutNs;
    private final long waitingIntervalNs;

    private long lastProgressNs;
    private long lastWaitingSentNs;
    /** When the left neighbour last said it is waiting (clock time), and for which rank. */
    private long leftWaitingSeenNs;
    private int leftWaitingFor = -1;

    StallWatch(final OperationCursor cursor, final FrameSender sender, final WaitGuard guard, final NanoClock clock,
        final long timeoutMs)
    {
        this.cursor = cursor;
        this.sender = sender;
        this.guard = guard;
        this.clock = clock;
        this.timeoutNs = TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        this.waitingIntervalNs = Math.max(1, timeoutNs / WAITING_PER_TIMEOUT);
    }

    /** An operation starts at {@code nowNs}: its no-progress time counts from here. */
    void start(final long nowNs)
    {
        lastProgressNs = nowNs;
        lastWaitingSentNs = nowNs;
    }

    /** A frame went out or came in at {@code nowNs}. */
    void progressed(final long nowNs)
    {
        lastProgressNs = nowNs;
        lastWaitingSentNs = nowNs;
    }

    /** The left neighbour said it is alive and waiting for {@code rank} (whatever operation it is in). */
    void leftSaysWaitingFor(final int rank)
    {
        leftWaitingSeenNs = clock.nanoTime();
        leftWaitingFor = rank;
    }

    /**
     * No frame moved: throws if the wait is pointless or too long, and tells the right neighbour this rank waits
     * when a quarter timeout has passed since it last did.
     */
    void check(final long nowNs)
    {
        if (guard.due(nowNs) && guard.stopping())
        {
            throw guard.failure(cursor.where(), TimeUnit.NANOSECONDS.toMillis(nowNs - lastProgressNs),
                cursor.waitingFor());
        }
        if (nowNs - lastProgressNs > timeoutNs && !deferToLeft(nowNs))
        {
            throw timeout(nowNs);
        }
        if (nowNs - lastWaitingSentNs >= waitingIntervalNs && cursor.awaitingReceive())
        {
            lastWaitingSentNs = nowNs;
            sender.sendWaiting();
        }
    }

    /**
     * Past this rank's deadline: keep waiting (up to {@link #DEFERRED_TIMEOUTS} timeouts) while the left
     * neighbour, which this rank waits for, recently said that it is alive and waiting for another rank.
     */
    private boolean deferToLeft(final long nowNs)
    {
        return leftWaitingFor >= 0 && leftWaitingFor != cursor.rank() && cursor.awaitingReceive() &&
            nowNs - leftWaitingSeenNs <= WAITING_FRESH_INTERVALS * waitingIntervalNs &&
            nowNs - lastProgressNs <= DEFERRED_TIMEOUTS * timeoutNs;
    }

    /** The timeout that names the peer this rank waits for: the left one for a frame, the right one for room. */
    private CollectiveTimeoutException timeout(final long nowNs)
    {
        final RingSchedule schedule = cursor.schedule();
        final long waitedMs = TimeUnit.NANOSECONDS.toMillis(nowNs - lastProgressNs);
        final int leftRank = cursor.leftRank();
        final int rightRank = cursor.rightRank();
        if (cursor.awaitingReceive())
        {
            final boolean leftWaits = leftWaitingFor >= 0 && nowNs - leftWaitingSeenNs <=
                WAITING_FRESH_INTERVALS * waitingIntervalNs;
            return new CollectiveTimeoutException(schedule.kind().displayName(), cursor.rank(), leftRank, waitedMs,
                "waiting for frame " + cursor.receiveIndex() + " of " + schedule.receiveCount() + " from rank " +
                leftRank + (leftWaits ? "; rank " + leftRank + " is alive and says it is waiting for rank " +
                leftWaitingFor : ""));
        }
        final String why = sender.lastBlocked() == RingLink.Blocked.NOT_CONNECTED ?
            "rank " + rightRank + " is not connected" : "rank " + rightRank + " is not consuming (back-pressure)";
        return new CollectiveTimeoutException(schedule.kind().displayName(), cursor.rank(), rightRank, waitedMs,
            "sending frame " + cursor.sendIndex() + " of " + schedule.sendCount() + ": " + why);
    }
}
