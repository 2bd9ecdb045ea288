package io.paratrain.gradientsharing.internal;

import io.paratrain.gradientsharing.CollectiveStats;
import io.paratrain.gradientsharing.exceptions.CollectiveClosedException;
import io.paratrain.gradientsharing.exceptions.CollectiveException;
import io.paratrain.gradientsharing.exceptions.CollectiveTimeoutException;
import io.paratrain.gradientsharing.exceptions.PeerFailedException;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.NanoClock;

/**
 * Runs {@link RingSchedule}s over a {@link RingLink}: each turn of its duty cycle sends whatever the schedule
 * allows ({@link FrameSender}), polls and checks received frames ({@link FrameAdmission}), and, when nothing
 * moved, asks the {@link StallWatch} whether to wait on; so no wait is without a deadline.
 * <p>
 * A failure on this rank (timeout, disagreeing arguments) is sent to the right neighbour as an ABORT frame,
 * which every rank forwards, so the whole ring stops with an error that names the failed rank instead of
 * each rank waiting for its own timeout. After a failure the exchange refuses further operations.
 */
public final class RingExchange
{
    private static final int FRAGMENT_LIMIT = 4;

    private final RingLink link;
    private final NanoClock clock;
    /** Spin, yield, then park 1 us .. 100 us: measured better than spinning or yielding on 2 shared cores. */
    private final IdleStrategy idle = new BackoffIdleStrategy(10, 20, 1_000, 100_000);
    private final OperationCursor cursor;
    private final FrameSender sender;
    private final StallWatch watch;
    private final FrameAdmission admission;
    private CollectiveException failedWith;

    /**
     * @param link  this rank's ends of the ring; null for a world of one.
     * @param clock what every deadline, no-progress and blame decision reads: {@code SystemNanoClock.INSTANCE}
     *              outside tests.
     */
    public RingExchange(final RingLink link, final int rank, final int worldSize, final long sessionId,
        final long timeoutMs, final byte[] hmacSecret, final WaitGuard guard, final NanoClock clock)
    {
        this.link = link;
        this.clock = clock;
        final int maxFrame = link == null ? 0 : link.maxPayloadLength();
        final FrameAuthenticator authenticator = hmacSecret == null ? null :
            new FrameAuthenticator(hmacSecret, maxFrame);
        this.cursor = new OperationCursor(rank, worldSize);
        this.sender = new FrameSender(link, cursor, sessionId, authenticator, idle, clock);
        this.watch = new StallWatch(cursor, sender, guard, clock, timeoutMs);
        this.admission = new FrameAdmission(cursor, sender, watch, sessionId, authenticator);
    }

    /** Largest payload one frame carries after the header. */
    public int maxFramePayload()
    {
        return sender.maxFramePayload();
    }

    /** Runs one operation to completion or throws; on failure the exchange is unusable afterwards. */
    public void run(final RingSchedule schedule)
    {
        if (failedWith != null)
        {
            throw new CollectiveClosedException(schedule.kind().displayName() + " on rank " + cursor.rank() +
                ": the collective failed earlier and cannot be used: " + failedWith.getMessage());
        }
        cursor.start(schedule);
        admission.reset();
        try
        {
            drive();
        }
        catch (final PeerFailedException ex)
        {
            failedWith = ex;
            if (cursor.rightRank() != ex.failedRank())
            {
                sender.sendAbort(ex.failedRank(), ex.getMessage());
            }
            throw ex;
        }
        catch (final CollectiveTimeoutException ex)
        {
            failedWith = ex;
            sender.sendAbort(ex.peerRank(), ex.getMessage()); // blame the silent peer, not this rank
            throw ex;
        }
        catch (final CollectiveException ex)
        {
            failedWith = ex;
            sender.sendAbort(cursor.rank(), ex.getMessage());
            throw ex;
        }
        finally
        {
            cursor.finish();
        }
    }

    public CollectiveStats stats()
    {
        return new CollectiveStats(sender.framesSent(), admission.framesReceived(), sender.bytesSent(),
            admission.bytesReceived(), admission.droppedForeignSession(), admission.rejectedMac(),
            admission.droppedStale(), admission.droppedMalformed());
    }

    /** The duty cycle: send, receive, check the wait, idle only when nothing was done. */
    private void drive()
    {
        watch.start(clock.nanoTime());
        idle.reset();
        while (!cursor.done())
        {
            final int progressBefore = cursor.progress();
            int work = sender.sendReady();
            work += link.poll(admission, FRAGMENT_LIMIT);
            if (admission.failure() != null)
            {
                throw admission.failure();
            }
            final long nowNs = clock.nanoTime();
            if (cursor.progress() != progressBefore)
            {
                watch.progressed(nowNs);
            }
            else
            {
                watch.check(nowNs);
            }
            if (work > 0)
            {
                idle.reset();
            }
            else
            {
                idle.idle();
            }
        }
    }
}
