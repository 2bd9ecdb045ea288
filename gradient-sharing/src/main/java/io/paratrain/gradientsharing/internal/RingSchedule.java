package io.paratrain.gradientsharing.internal;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * What one rank sends to its right neighbour and receives from its left neighbour during one operation.
 * Sends and receives are numbered from 0 and happen in order; send {@code i} may go only after receive
 * {@link #sendPrerequisite(int)} has been applied. {@link RingExchange} drives it.
 */
public interface RingSchedule
{
    OpKind kind();

    /** The value every rank must agree on for this operation (element count, root and length, ...). */
    long opParam();

    int sendCount();

    int receiveCount();

    /** Index of the receive that must be applied before send {@code sendIndex}, or -1 for none. */
    int sendPrerequisite(int sendIndex);

    /** Payload length of send {@code sendIndex}, in bytes. */
    int sendLength(int sendIndex);

    /** Writes the payload of send {@code sendIndex} at {@code offset}. */
    void writeSend(int sendIndex, MutableDirectBuffer buffer, int offset);

    /**
     * Applies receive {@code receiveIndex}. Returns null when accepted, or a description of what was wrong with
     * the payload (for example its length) when it does not fit this rank's side of the operation.
     */
    String applyReceive(int receiveIndex, DirectBuffer buffer, int offset, int length);

    /**
     * The send that waits only for receive {@code receiveIndex} and carries data derived from it, or -1. When
     * that send is next in line, the exchange lets {@link #applyReceiveAndForward} write it straight from the
     * received frame, saving a pass over memory.
     */
    default int forwardedSend(final int receiveIndex)
    {
        return -1;
    }

    /**
     * Applies receive {@code receiveIndex} and writes the payload of {@link #forwardedSend} at {@code outOffset}
     * in the same pass. Returns null or a description of what was wrong, like {@link #applyReceive}.
     */
    default String applyReceiveAndForward(final int receiveIndex, final DirectBuffer buffer, final int offset,
        final int length, final MutableDirectBuffer out, final int outOffset)
    {
        throw new UnsupportedOperationException("no forwarded sends");
    }

    /**
     * Describes how a peer's {@code opParam} disagrees with this rank's, e.g. "length 10 but rank 1 passed 12".
     */
    String describeMismatch(long peerOpParam, int peerRank);
}
