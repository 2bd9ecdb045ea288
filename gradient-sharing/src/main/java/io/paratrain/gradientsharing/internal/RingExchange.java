package io.paratrain.gradientsharing.internal;

import io.aeron.logbuffer.ControlledFragmentHandler;
import io.aeron.logbuffer.Header;
import io.paratrain.gradientsharing.CollectiveStats;
import io.paratrain.gradientsharing.exceptions.CollectiveClosedException;
import io.paratrain.gradientsharing.exceptions.CollectiveException;
import io.paratrain.gradientsharing.exceptions.CollectiveInputException;
import io.paratrain.gradientsharing.exceptions.CollectiveTimeoutException;
import io.paratrain.gradientsharing.exceptions.PeerFailedException;
import io.paratrain.gradientsharing.exceptions.TransportException;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * Runs {@link RingSchedule}s over a {@link RingLink}: sends whatever the schedule allows, receives and checks
 * frames, and never waits without a deadline. A frame is applied only if it carries this job's session id, a
 * valid MAC (when authenticated), the current operation number, the left neighbour as sender and the next
 * expected index; frames of the next operation are left in the log until that operation starts.
 * <p>
 * A failure on this rank (timeout, disagreeing arguments) is sent to the right neighbour as an ABORT frame,
 * which every rank forwards, so the whole ring stops with an error that names the failed rank instead of
 * each rank waiting for its own timeout. After a failure the exchange refuses further operations.
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
 */
public final class RingExchange
{
    private static final Logger LOG = LoggerFactory.getLogger(RingExchange.class);
    private static final int FRAGMENT_LIMIT = 4;
    private static final int SEND_BURST = 4;
    private static final int MAX_REASON_BYTES = 1024;
    private static final long ABORT_SEND_NS = TimeUnit.MILLISECONDS.toNanos(50);
    /** A rank that waits longer than timeout / this tells its right neighbour, and again every such interval. */
    private static final int WAITING_PER_TIMEOUT = 4;
    /** A WAITING frame counts as fresh for this many intervals (one may be late on a loaded host). */
    private static final int WAITING_FRESH_INTERVALS = 2;
    /** A rank whose left neighbour is waiting for another rank gives up at this multiple of the timeout. */
    private static final int DEFERRED_TIMEOUTS = 2;

    private final RingLink link;
    private final int rank;
    private final int worldSize;
    private final int leftRank;
    private final int rightRank;
    private final long sessionId;
    private final long timeoutNs;
    private final long waitingIntervalNs;
    private final FrameAuthenticator authenticator;
    private final WaitGuard guard;
    private final int headerLength;
    /** Spin, yield, then park 1 us .. 100 us: measured better than spinning or yielding on 2 shared cores. */
    private final IdleStrategy idle = new BackoffIdleStrategy(10, 20, 1_000, 100_000);
    private final ControlledFragmentHandler handler = this::onFragment;

    private RingSchedule current;
    private long opSeq;
    private int sendIndex;
    private int receiveIndex;
    private CollectiveException frameFailure;
    private CollectiveException failedWith;
    /** When the left neighbour last said it is waiting (nanoTime), and for which rank. */
    private long leftWaitingSeenNs;
    private int leftWaitingFor = -1;
    private long lastWaitingSentNs;

    private long framesSent;
    private long framesReceived;
    private long bytesSent;
    private long bytesReceived;
    private long droppedForeignSession;
    private long rejectedMac;
    private long droppedStale;
    private long droppedMalformed;

    public RingExchange(final RingLink link, final int rank, final int worldSize, final long sessionId,
        final long timeoutMs, final byte[] hmacSecret, final WaitGuard guard)
    {
        this.guard = guard;
        this.link = link;
        this.rank = rank;
        this.worldSize = worldSize;
        this.leftRank = Math.floorMod(rank - 1, worldSize);
        this.rightRank = Math.floorMod(rank + 1, worldSize);
        this.sessionId = sessionId;
        this.timeoutNs = TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        this.waitingIntervalNs = Math.max(1, timeoutNs / WAITING_PER_TIMEOUT);
        this.headerLength = FrameHeader.headerLength(hmacSecret != null);
        final int maxFrame = link == null ? 0 : link.maxPayloadLength();
        this.authenticator = hmacSecret == null ? null : new FrameAuthenticator(hmacSecret, maxFrame);
    }

    /** Largest payload one frame carries after the header. */
    public int maxFramePayload()
    {
        return link == null ? Integer.MAX_VALUE - 8 : link.maxPayloadLength() - headerLength;
    }

    /** Runs one operation to completion or throws; on failure the exchange is unusable afterwards. */
    public void run(final RingSchedule schedule)
    {
        if (failedWith != null)
        {
            throw new CollectiveClosedException(schedule.kind().displayName() + " on rank " + rank +
                ": the collective failed earlier and cannot be used: " + failedWith.getMessage());
        }
        current = schedule;
        opSeq++;
        sendIndex = 0;
        receiveIndex = 0;
        frameFailure = null;
        try
        {
            drive(schedule);
        }
        catch (final PeerFailedException ex)
        {
            failedWith = ex;
            if (rightRank != ex.failedRank())
            {
                sendAbort(ex.failedRank(), ex.getMessage());
            }
            throw ex;
        }
        catch (final CollectiveTimeoutException ex)
        {
            failedWith = ex;
            sendAbort(ex.peerRank(), ex.getMessage()); // blame the silent peer, not this rank
            throw ex;
        }
        catch (final CollectiveException ex)
        {
            failedWith = ex;
            sendAbort(rank, ex.getMessage());
            throw ex;
        }
        finally
        {
            current = null;
        }
    }

    public CollectiveStats stats()
    {
        return new CollectiveStats(framesSent, framesReceived, bytesSent, bytesReceived, droppedForeignSession,
            rejectedMac, droppedStale, droppedMalformed);
    }

    private void drive(final RingSchedule schedule)
    {
        final int sendCount = schedule.sendCount();
        final int receiveCount = schedule.receiveCount();
        long lastProgressNs = System.nanoTime();
        lastWaitingSentNs = lastProgressNs;
        idle.reset();
        while (sendIndex < sendCount || receiveIndex < receiveCount)
        {
            final int indicesBefore = sendIndex + receiveIndex;
            int work = sendReady(schedule, sendCount);
            work += link.poll(handler, FRAGMENT_LIMIT);
            if (frameFailure != null)
            {
                throw frameFailure;
            }
            final long nowNs = System.nanoTime();
            if (sendIndex + receiveIndex != indicesBefore)
            {
                lastProgressNs = nowNs;
                lastWaitingSentNs = nowNs;
            }
            else
            {
                checkWait(schedule, nowNs, lastProgressNs);
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

    /** No frame moved: ends the wait if it is pointless or too long, and tells the right neighbour it waits. */
    private void checkWait(final RingSchedule schedule, final long nowNs, final long lastProgressNs)
    {
        if (guard.due(nowNs) && guard.stopping())
        {
            throw guard.failure(schedule.kind().displayName() + " on rank " + rank,
                TimeUnit.NANOSECONDS.toMillis(nowNs - lastProgressNs), waitingFor(schedule));
        }
        if (nowNs - lastProgressNs > timeoutNs && !deferToLeft(schedule, nowNs, lastProgressNs))
        {
            throw timeout(schedule, TimeUnit.NANOSECONDS.toMillis(nowNs - lastProgressNs));
        }
        if (nowNs - lastWaitingSentNs >= waitingIntervalNs && awaitingReceive(schedule))
        {
            sendWaiting(nowNs);
        }
    }

    /** What this rank waits for, for error messages. */
    private String waitingFor(final RingSchedule schedule)
    {
        return awaitingReceive(schedule) ? "waiting for frame " + receiveIndex + " of " + schedule.receiveCount() +
            " from rank " + leftRank : "waiting to send frame " + sendIndex + " of " + schedule.sendCount() +
            " to rank " + rightRank;
    }

    /** True while this rank waits for its left neighbour. */
    private boolean awaitingReceive(final RingSchedule schedule)
    {
        return receiveIndex < schedule.receiveCount() &&
            (sendIndex >= schedule.sendCount() || schedule.sendPrerequisite(sendIndex) >= receiveIndex);
    }

    /**
     * Past this rank's deadline: keep waiting (up to {@link #DEFERRED_TIMEOUTS} timeouts) while the left
     * neighbour, which this rank waits for, recently said that it is alive and waiting for another rank.
     */
    private boolean deferToLeft(final RingSchedule schedule, final long nowNs, final long lastProgressNs)
    {
        return leftWaitingFor >= 0 && leftWaitingFor != rank && awaitingReceive(schedule) &&
            nowNs - leftWaitingSeenNs <= WAITING_FRESH_INTERVALS * waitingIntervalNs &&
            nowNs - lastProgressNs <= DEFERRED_TIMEOUTS * timeoutNs;
    }

    /** Best effort, never waits: tells the right neighbour that this rank is alive and waiting for its left. */
    private void sendWaiting(final long nowNs)
    {
        lastWaitingSentNs = nowNs;
        if (!link.tryClaim(headerLength))
        {
            return; // the right neighbour is not consuming; it has nothing to wait for from this rank anyway
        }
        final MutableDirectBuffer buffer = link.claimBuffer();
        final int offset = link.claimOffset();
        FrameHeader.write(buffer, offset, FrameHeader.TYPE_WAITING, current.kind(), sessionId, opSeq, leftRank, rank,
            0, 0);
        if (authenticator != null)
        {
            authenticator.sign(buffer, offset, 0);
        }
        link.commit();
    }

    private int sendReady(final RingSchedule schedule, final int sendCount)
    {
        int sent = 0;
        while (sent < SEND_BURST && sendIndex < sendCount && schedule.sendPrerequisite(sendIndex) < receiveIndex)
        {
            final int payloadLength = schedule.sendLength(sendIndex);
            if (!link.tryClaim(headerLength + payloadLength))
            {
                break;
            }
            final MutableDirectBuffer buffer = link.claimBuffer();
            final int offset = link.claimOffset();
            try
            {
                FrameHeader.write(buffer, offset, FrameHeader.TYPE_DATA, schedule.kind(), sessionId, opSeq,
                    schedule.opParam(), rank, sendIndex, payloadLength);
                schedule.writeSend(sendIndex, buffer, offset + headerLength);
            }
            catch (final RuntimeException ex)
            {
                link.abortClaim();
                throw ex;
            }
            commitSend(buffer, offset, payloadLength);
            sent++;
        }
        return sent;
    }

    private void commitSend(final MutableDirectBuffer buffer, final int offset, final int payloadLength)
    {
        if (authenticator != null)
        {
            authenticator.sign(buffer, offset, payloadLength);
        }
        link.commit();
        sendIndex++;
        framesSent++;
        bytesSent += headerLength + payloadLength;
    }

    /**
     * Applies the current receive, fused with its forwarded send when that send is next and the log has room;
     * returns null or what was wrong with the frame.
     */
    private String applyReceive(final DirectBuffer buffer, final int payloadOffset, final int payloadLength)
    {
        final int forward = current.forwardedSend(receiveIndex);
        if (forward < 0 || forward != sendIndex)
        {
            return current.applyReceive(receiveIndex, buffer, payloadOffset, payloadLength);
        }
        final int forwardLength = current.sendLength(forward);
        if (!link.tryClaim(headerLength + forwardLength))
        {
            return current.applyReceive(receiveIndex, buffer, payloadOffset, payloadLength);
        }
        final MutableDirectBuffer out = link.claimBuffer();
        final int outOffset = link.claimOffset();
        final String problem;
        try
        {
            FrameHeader.write(out, outOffset, FrameHeader.TYPE_DATA, current.kind(), sessionId, opSeq,
                current.opParam(), rank, forward, forwardLength);
            problem = current.applyReceiveAndForward(receiveIndex, buffer, payloadOffset, payloadLength, out,
                outOffset + headerLength);
        }
        catch (final RuntimeException ex)
        {
            link.abortClaim();
            throw ex;
        }
        if (problem != null)
        {
            link.abortClaim();
            return problem;
        }
        commitSend(out, outOffset, forwardLength);
        return null;
    }

    private ControlledFragmentHandler.Action onFragment(
        final DirectBuffer buffer, final int offset, final int length, final Header header)
    {
        if (length < FrameHeader.SIGNED_LENGTH || FrameHeader.magic(buffer, offset) != FrameHeader.MAGIC)
        {
            droppedMalformed++;
            return ControlledFragmentHandler.Action.CONTINUE;
        }
        if (FrameHeader.sessionId(buffer, offset) != sessionId)
        {
            droppedForeignSession++;
            return ControlledFragmentHandler.Action.CONTINUE;
        }
        final int payloadLength = FrameHeader.payloadLength(buffer, offset);
        if (payloadLength < 0 || headerLength + payloadLength != length)
        {
            droppedMalformed++;
            return ControlledFragmentHandler.Action.CONTINUE;
        }
        if (authenticator != null && !authenticator.verify(buffer, offset, payloadLength))
        {
            rejectedMac++;
            return ControlledFragmentHandler.Action.CONTINUE;
        }
        if (FrameHeader.senderRank(buffer, offset) != leftRank)
        {
            droppedStale++;
            return ControlledFragmentHandler.Action.CONTINUE;
        }
        if (FrameHeader.type(buffer, offset) == FrameHeader.TYPE_WAITING)
        {
            // whatever operation it is in: it is alive, and blocked by another rank
            leftWaitingSeenNs = System.nanoTime();
            leftWaitingFor = (int)FrameHeader.opParam(buffer, offset);
            return ControlledFragmentHandler.Action.CONTINUE;
        }
        if (FrameHeader.type(buffer, offset) == FrameHeader.TYPE_ABORT)
        {
            // Whatever operation the left neighbour was in (it may still be finishing the previous one),
            // an abort means the ring is broken.
            frameFailure = peerFailure(buffer, offset, payloadLength);
            return ControlledFragmentHandler.Action.BREAK;
        }
        final long frameOpSeq = FrameHeader.opSeq(buffer, offset);
        if (frameOpSeq < opSeq)
        {
            droppedStale++;
            return ControlledFragmentHandler.Action.CONTINUE;
        }
        if (frameOpSeq > opSeq)
        {
            return ControlledFragmentHandler.Action.ABORT; // the next operation's frame: keep it for then
        }
        frameFailure = checkFrame(buffer, offset);
        if (frameFailure != null)
        {
            return ControlledFragmentHandler.Action.BREAK;
        }
        final String problem = applyReceive(buffer, offset + headerLength, payloadLength);
        if (problem != null)
        {
            frameFailure = new CollectiveInputException(current.kind().displayName() + " on rank " + rank +
                ": rank " + leftRank + " sent a frame that does not fit: " + problem);
            return ControlledFragmentHandler.Action.BREAK;
        }
        receiveIndex++;
        framesReceived++;
        bytesReceived += length;
        return ControlledFragmentHandler.Action.CONTINUE;
    }

    private CollectiveException checkFrame(final DirectBuffer buffer, final int offset)
    {
        final OpKind kind = OpKind.fromCode(FrameHeader.opKind(buffer, offset));
        if (kind != current.kind())
        {
            return new CollectiveInputException("rank " + rank + " called " + current.kind().displayName() +
                " as operation #" + opSeq + " but rank " + leftRank + " called " +
                (kind == null ? "an unknown operation" : kind.displayName()));
        }
        final long peerParam = FrameHeader.opParam(buffer, offset);
        if (peerParam != current.opParam())
        {
            return new CollectiveInputException(kind.displayName() + ": ranks disagree: " +
                current.describeMismatch(peerParam, leftRank));
        }
        final int index = FrameHeader.index(buffer, offset);
        if (index != receiveIndex || receiveIndex >= current.receiveCount())
        {
            return new TransportException(kind.displayName() + " on rank " + rank + ": expected frame " +
                receiveIndex + " of " + current.receiveCount() + " from rank " + leftRank + ", got frame " + index);
        }
        return null;
    }

    private PeerFailedException peerFailure(final DirectBuffer buffer, final int offset, final int payloadLength)
    {
        final int failedRank = (int)FrameHeader.opParam(buffer, offset);
        final byte[] reason = new byte[payloadLength];
        buffer.getBytes(offset + headerLength, reason);
        final String operation = current == null ? "operation" : current.kind().displayName();
        return new PeerFailedException(operation, rank, failedRank, new String(reason, StandardCharsets.UTF_8));
    }

    private CollectiveTimeoutException timeout(final RingSchedule schedule, final long waitedMs)
    {
        if (awaitingReceive(schedule))
        {
            final boolean leftWaits = leftWaitingFor >= 0 && System.nanoTime() - leftWaitingSeenNs <=
                WAITING_FRESH_INTERVALS * waitingIntervalNs;
            return new CollectiveTimeoutException(schedule.kind().displayName(), rank, leftRank, waitedMs,
                "waiting for frame " + receiveIndex + " of " + schedule.receiveCount() + " from rank " + leftRank +
                (leftWaits ? "; rank " + leftRank + " is alive and says it is waiting for rank " + leftWaitingFor
                    : ""));
        }
        final String why = link.lastBlocked() == RingLink.Blocked.NOT_CONNECTED ?
            "rank " + rightRank + " is not connected" : "rank " + rightRank + " is not consuming (back-pressure)";
        return new CollectiveTimeoutException(schedule.kind().displayName(), rank, rightRank, waitedMs,
            "sending frame " + sendIndex + " of " + schedule.sendCount() + ": " + why);
    }

    /** Best effort: tell the right neighbour, without waiting longer than a moment for room in the log. */
    private void sendAbort(final int failedRank, final String reason)
    {
        if (link == null)
        {
            return;
        }
        final byte[] text = reason.getBytes(StandardCharsets.UTF_8);
        final int length = Math.min(text.length, Math.min(MAX_REASON_BYTES, maxFramePayload()));
        final long giveUpNs = System.nanoTime() + ABORT_SEND_NS;
        try
        {
            while (!link.tryClaim(headerLength + length))
            {
                if (System.nanoTime() - giveUpNs > 0)
                {
                    LOG.warn("Rank {} could not tell rank {} about the failure ({}); it will time out instead",
                        rank, rightRank, link.lastBlocked());
                    return;
                }
                idle.idle();
            }
            final MutableDirectBuffer buffer = link.claimBuffer();
            final int offset = link.claimOffset();
            FrameHeader.write(buffer, offset, FrameHeader.TYPE_ABORT, current.kind(), sessionId, opSeq, failedRank,
                rank, 0, length);
            buffer.putBytes(offset + headerLength, text, 0, length);
            if (authenticator != null)
            {
                authenticator.sign(buffer, offset, length);
            }
            link.commit();
        }
        catch (final TransportException ex)
        {
            LOG.warn("Rank {} could not send the abort to rank {}: {}", rank, rightRank, ex.getMessage());
        }
    }
}
