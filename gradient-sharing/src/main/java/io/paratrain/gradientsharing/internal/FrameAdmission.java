package io.paratrain.gradientsharing.internal;

import io.aeron.logbuffer.ControlledFragmentHandler;
import io.aeron.logbuffer.Header;
import io.paratrain.gradientsharing.exceptions.CollectiveException;
import io.paratrain.gradientsharing.exceptions.CollectiveInputException;
import io.paratrain.gradientsharing.exceptions.PeerFailedException;
import io.paratrain.gradientsharing.exceptions.TransportException;
import org.agrona.DirectBuffer;

import java.nio.charset.StandardCharsets;

/**
 * Decides what each received fragment is. A frame is applied only if it carries this job's session id, a valid
 * MAC (when authenticated), the left neighbour as sender, the current operation number, the operation and
 * argument this rank called, and the next expected index; frames of the next operation are left in the log until
 * that operation starts. Foreign, forged, stale and malformed frames are dropped and counted, never applied. A
 * WAITING frame is passed to the {@link StallWatch}; an ABORT frame, or a frame that shows the ranks disagree,
 * becomes the {@link #failure()} that ends the operation.
 */
final class FrameAdmission implements ControlledFragmentHandler
{
    private final OperationCursor cursor;
    private final FrameSender sender;
    private final StallWatch watch;
    private final long sessionId;
    private final int headerLength;
    private final FrameAuthenticator authenticator;
    private CollectiveException failure;

    private long framesReceived;
    private long bytesReceived;
    private long droppedForeignSession;
    private long rejectedMac;
    private long droppedStale;
    private long droppedMalformed;

    FrameAdmission(final OperationCursor cursor, final FrameSender sender, final StallWatch watch,
        final long sessionId, final FrameAuthenticator authenticator)
    {
        this.cursor = cursor;
        this.sender = sender;
        this.watch = watch;
        this.sessionId = sessionId;
        this.headerLength = FrameHeader.headerLength(authenticator != null);
        this.authenticator = authenticator;
    }

    /** Forgets the previous operation's failure; called when an operation starts. */
    void reset()
    {
        failure = null;
    }

    /** Null, or what a received frame said is wrong: the operation must end with it. */
    CollectiveException failure()
    {
        return failure;
    }

    @Override
    public Action onFragment(final DirectBuffer buffer, final int offset, final int length, final Header header)
    {
        if (length < FrameHeader.SIGNED_LENGTH || FrameHeader.magic(buffer, offset) != FrameHeader.MAGIC)
        {
            droppedMalformed++;
            return Action.CONTINUE;
        }
        if (FrameHeader.sessionId(buffer, offset) != sessionId)
        {
            droppedForeignSession++;
            return Action.CONTINUE;
        }
        final int payloadLength = FrameHeader.payloadLength(buffer, offset);
        if (payloadLength < 0 || headerLength + payloadLength != length)
        {
            droppedMalformed++;
            return Action.CONTINUE;
        }
        if (authenticator != null && !authenticator.verify(buffer, offset, payloadLength))
        {
            rejectedMac++;
            return Action.CONTINUE;
        }
        if (FrameHeader.senderRank(buffer, offset) != cursor.leftRank())
        {
            droppedStale++;
            return Action.CONTINUE;
        }
        if (FrameHeader.type(buffer, offset) == FrameHeader.TYPE_WAITING)
        {
            // whatever operation it is in: it is alive, and blocked by another rank
            watch.leftSaysWaitingFor((int)FrameHeader.opParam(buffer, offset));
            return Action.CONTINUE;
        }
        if (FrameHeader.type(buffer, offset) == FrameHeader.TYPE_ABORT)
        {
            // Whatever operation the left neighbour was in (it may still be finishing the previous one),
            // an abort means the ring is broken.
            failure = peerFailure(buffer, offset, payloadLength);
            return Action.BREAK;
        }
        final long frameOpSeq = FrameHeader.opSeq(buffer, offset);
        if (frameOpSeq < cursor.opSeq())
        {
            droppedStale++;
            return Action.CONTINUE;
        }
        if (frameOpSeq > cursor.opSeq())
        {
            return Action.ABORT; // the next operation's frame: keep it for then
        }
        failure = checkFrame(buffer, offset);
        if (failure != null)
        {
            return Action.BREAK;
        }
        final String problem = sender.applyReceive(buffer, offset + headerLength, payloadLength);
        if (problem != null)
        {
            failure = new CollectiveInputException(cursor.where() + ": rank " + cursor.leftRank() +
                " sent a frame that does not fit: " + problem);
            return Action.BREAK;
        }
        cursor.received();
        framesReceived++;
        bytesReceived += length;
        return Action.CONTINUE;
    }

    long framesReceived()
    {
        return framesReceived;
    }

    long bytesReceived()
    {
        return bytesReceived;
    }

    long droppedForeignSession()
    {
        return droppedForeignSession;
    }

    long rejectedMac()
    {
        return rejectedMac;
    }

    long droppedStale()
    {
        return droppedStale;
    }

    long droppedMalformed()
    {
        return droppedMalformed;
    }

    private CollectiveException checkFrame(final DirectBuffer buffer, final int offset)
    {
        final RingSchedule current = cursor.schedule();
        final OpKind kind = OpKind.fromCode(FrameHeader.opKind(buffer, offset));
        if (kind != current.kind())
        {
            return new CollectiveInputException("rank " + cursor.rank() + " called " + current.kind().displayName() +
                " as operation #" + cursor.opSeq() + " but rank " + cursor.leftRank() + " called " +
                (kind == null ? "an unknown operation" : kind.displayName()));
        }
        final long peerParam = FrameHeader.opParam(buffer, offset);
        if (peerParam != current.opParam())
        {
            return new CollectiveInputException(kind.displayName() + ": ranks disagree: " +
                current.describeMismatch(peerParam, cursor.leftRank()));
        }
        final int index = FrameHeader.index(buffer, offset);
        if (index != cursor.receiveIndex() || cursor.receiveIndex() >= current.receiveCount())
        {
            return new TransportException(kind.displayName() + " on rank " + cursor.rank() + ": expected frame " +
                cursor.receiveIndex() + " of " + current.receiveCount() + " from rank " + cursor.leftRank() +
                ", got frame " + index);
        }
        return null;
    }

    private PeerFailedException peerFailure(final DirectBuffer buffer, final int offset, final int payloadLength)
    {
        final int failedRank = (int)FrameHeader.opParam(buffer, offset);
        final byte[] reason = new byte[payloadLength];
        buffer.getBytes(offset + headerLength, reason);
        final String operation = cursor.schedule() == null ? "operation" : cursor.schedule().kind().displayName();
        return new PeerFailedException(operation, cursor.rank(), failedRank,
            new String(reason, StandardCharsets.UTF_8));
    }
}
