package io.paratrain.gradientsharing.internal;

import io.paratrain.gradientsharing.exceptions.TransportException;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.NanoClock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * Writes this rank's frames to its right neighbour, in place in the link's log: the operation's DATA frames as
 * far as the schedule allows, a received frame's forwarded send in the same pass as the receive, and the
 * protocol's WAITING and ABORT frames. Nothing here waits, except an ABORT for a moment of room in the log.
 */
final class FrameSender
{
    private static final Logger LOG = LoggerFactory.getLogger(FrameSender.class);
    private static final int SEND_BURST = 4;
    private static final int MAX_REASON_BYTES = 1024;
    private static final long ABORT_SEND_NS = TimeUnit.MILLISECONDS.toNanos(50);

    private final RingLink link;
    private final OperationCursor cursor;
    private final long sessionId;
    private final int headerLength;
    private final FrameAuthenticator authenticator;
    private final IdleStrategy idle;
    private final NanoClock clock;

    private long framesSent;
    private long bytesSent;

    /** {@code link} null: a world of one, which sends nothing. */
    FrameSender(final RingLink link, final OperationCursor cursor, final long sessionId,
        final FrameAuthenticator authenticator, final IdleStrategy idle, final NanoClock clock)
    {
        this.link = link;
        this.cursor = cursor;
        this.sessionId = sessionId;
        this.headerLength = FrameHeader.headerLength(authenticator != null);
        this.authenticator = authenticator;
        this.idle = idle;
        this.clock = clock;
    }

    /** Largest payload one frame carries after the header. */
    int maxFramePayload()
    {
        return link == null ? Integer.MAX_VALUE - 8 : link.maxPayloadLength() - headerLength;
    }

    long framesSent()
    {
        return framesSent;
    }

    long bytesSent()
    {
        return bytesSent;
    }

    /** Sends up to a burst of the DATA frames whose prerequisites are met and that fit in the log; returns how many. */
    int sendReady()
    {
        final RingSchedule schedule = cursor.schedule();
        int sent = 0;
        while (sent < SEND_BURST && cursor.sendReady())
        {
            final int sendIndex = cursor.sendIndex();
            final int payloadLength = schedule.sendLength(sendIndex);
            if (!link.tryClaim(headerLength + payloadLength))
            {
                break;
            }
            final MutableDirectBuffer buffer = link.claimBuffer();
            final int offset = link.claimOffset();
            try
            {
                FrameHeader.write(buffer, offset, FrameHeader.TYPE_DATA, schedule.kind(), sessionId, cursor.opSeq(),
                    schedule.opParam(), cursor.rank(), sendIndex, payloadLength);
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

    /**
     * Applies the current receive, fused with its forwarded send when that send is next and the log has room;
     * returns null or what was wrong with the frame.
     */
    String applyReceive(final DirectBuffer buffer, final int payloadOffset, final int payloadLength)
    {
        final RingSchedule schedule = cursor.schedule();
        final int receiveIndex = cursor.receiveIndex();
        final int forward = schedule.forwardedSend(receiveIndex);
        if (forward < 0 || forward != cursor.sendIndex())
        {
            return schedule.applyReceive(receiveIndex, buffer, payloadOffset, payloadLength);
        }
        final int forwardLength = schedule.sendLength(forward);
        if (!link.tryClaim(headerLength + forwardLength))
        {
            return schedule.applyReceive(receiveIndex, buffer, payloadOffset, payloadLength);
        }
        final MutableDirectBuffer out = link.claimBuffer();
        final int outOffset = link.claimOffset();
        final String problem;
        try
        {
            FrameHeader.write(out, outOffset, FrameHeader.TYPE_DATA, schedule.kind(), sessionId, cursor.opSeq(),
                schedule.opParam(), cursor.rank(), forward, forwardLength);
            problem = schedule.applyReceiveAndForward(receiveIndex, buffer, payloadOffset, payloadLength, out,
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

    /** Best effort, never waits: tells the right neighbour that this rank is alive and waiting for its left. */
    void sendWaiting()
    {
        if (!link.tryClaim(headerLength))
        {
            return; // the right neighbour is not consuming; it has nothing to wait for from this rank anyway
        }
        final MutableDirectBuffer buffer = link.claimBuffer();
        final int offset = link.claimOffset();
        FrameHeader.write(buffer, offset, FrameHeader.TYPE_WAITING, cursor.schedule().kind(), sessionId,
            cursor.opSeq(), cursor.leftRank(), cursor.rank(), 0, 0);
        if (authenticator != null)
        {
            authenticator.sign(buffer, offset, 0);
        }
        link.commit();
    }

    /** Best effort: tell the right neighbour, without waiting longer than a moment for room in the log. */
    void sendAbort(final int failedRank, final String reason)
    {
        if (link == null)
        {
            return;
        }
        final byte[] text = reason.getBytes(StandardCharsets.UTF_8);
        final int length = Math.min(text.length, Math.min(MAX_REASON_BYTES, maxFramePayload()));
        final long giveUpNs = clock.nanoTime() + ABORT_SEND_NS;
        try
        {
            while (!link.tryClaim(headerLength + length))
            {
                if (clock.nanoTime() - giveUpNs > 0)
                {
                    LOG.warn("Rank {} could not tell rank {} about the failure ({}); it will time out instead",
                        cursor.rank(), cursor.rightRank(), link.lastBlocked());
                    return;
                }
                idle.idle();
            }
            final MutableDirectBuffer buffer = link.claimBuffer();
            final int offset = link.claimOffset();
            FrameHeader.write(buffer, offset, FrameHeader.TYPE_ABORT, cursor.schedule().kind(), sessionId,
                cursor.opSeq(), failedRank, cursor.rank(), 0, length);
            buffer.putBytes(offset + headerLength, text, 0, length);
            if (authenticator != null)
            {
                authenticator.sign(buffer, offset, length);
            }
            link.commit();
        }
        catch (final TransportException ex)
        {
            LOG.warn("Rank {} could not send the abort to rank {}: {}", cursor.rank(), cursor.rightRank(),
                ex.getMessage());
        }
    }

    /** Why the last claim failed, for a timeout's message. */
    RingLink.Blocked lastBlocked()
    {
        return link.lastBlocked();
    }

    private void commitSend(final MutableDirectBuffer buffer, final int offset, final int payloadLength)
    {
        if (authenticator != null)
        {
            authenticator.sign(buffer, offset, payloadLength);
        }
        link.commit();
        cursor.sent();
        framesSent++;
        bytesSent += headerLength + payloadLength;
    }
}
