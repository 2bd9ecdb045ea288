package io.paratrain.gradientsharing.internal;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

import java.nio.FloatBuffer;

/**
 * Pipelined chain reduction to one rank: the root's right neighbour sends its floats, every following rank adds
 * its own and passes the partial sum on, and the root adds its own last. With positions p = (rank - root - 1)
 * mod N (the root is N-1) the root ends with ((x_0 + x_1) + ...) + x_root in that fixed order, so the result is
 * deterministic. Each link carries the data once; the partial sum is written straight into the outgoing frame
 * when the log has room (the rank's own buffer then keeps its values), else it is added into the rank's buffer
 * first, which then holds a partial sum.
 */
final class ReduceToRootSchedule implements RingSchedule
{
    private final MutableDirectBuffer data;
    private final FloatBuffer dataFloats;
    private final int length;
    private final int root;
    private final int rank;
    private final int chunkFloats;
    private final int chunks;
    private final int sendCount;
    private final int receiveCount;
    private final FloatMath math;

    ReduceToRootSchedule(final MutableDirectBuffer data, final FloatBuffer dataFloats, final int length,
        final int root, final int rank, final int worldSize, final int chunkFloats, final FloatMath math)
    {
        this.data = data;
        this.dataFloats = dataFloats;
        this.length = length;
        this.root = root;
        this.rank = rank;
        this.chunkFloats = chunkFloats;
        this.math = math;
        this.chunks = length == 0 ? 1 : (length + chunkFloats - 1) / chunkFloats;
        final int position = Math.floorMod(rank - root - 1, worldSize);
        this.sendCount = worldSize == 1 || rank == root ? 0 : chunks;
        this.receiveCount = worldSize == 1 || position == 0 ? 0 : chunks;
    }

    @Override
    public OpKind kind()
    {
        return OpKind.REDUCE;
    }

    @Override
    public long opParam()
    {
        return ((long)root << 48) | length;
    }

    @Override
    public int sendCount()
    {
        return sendCount;
    }

    @Override
    public int receiveCount()
    {
        return receiveCount;
    }

    @Override
    public int sendPrerequisite(final int sendIndex)
    {
        return receiveCount == 0 ? -1 : sendIndex;
    }

    @Override
    public int sendLength(final int sendIndex)
    {
        return count(sendIndex) << 2;
    }

    @Override
    public void writeSend(final int sendIndex, final MutableDirectBuffer buffer, final int offset)
    {
        buffer.putBytes(offset, data, sendIndex * chunkFloats << 2, sendLength(sendIndex));
    }

    @Override
    public String applyReceive(final int receiveIndex, final DirectBuffer buffer, final int offset, final int length)
    {
        final String problem = check(receiveIndex, length);
        if (problem == null)
        {
            math.add(dataFloats, receiveIndex * chunkFloats, buffer, offset, count(receiveIndex));
        }
        return problem;
    }

    @Override
    public int forwardedSend(final int receiveIndex)
    {
        return sendCount == 0 ? -1 : receiveIndex;
    }

    @Override
    public String applyReceiveAndForward(final int receiveIndex, final DirectBuffer buffer, final int offset,
        final int length, final MutableDirectBuffer out, final int outOffset)
    {
        final String problem = check(receiveIndex, length);
        if (problem == null)
        {
            math.sumTo(dataFloats, receiveIndex * chunkFloats, buffer, offset, out, outOffset, count(receiveIndex));
        }
        return problem;
    }

    @Override
    public String describeMismatch(final long peerOpParam, final int peerRank)
    {
        return "rank " + rank + " called reduce(root=" + root + ", " + length + " floats) but rank " + peerRank +
            " called reduce(root=" + (peerOpParam >>> 48) + ", " + (peerOpParam & 0xFFFF_FFFF_FFFFL) + " floats)";
    }

    private int count(final int chunk)
    {
        return Math.min(chunkFloats, length - chunk * chunkFloats);
    }

    private String check(final int receiveIndex, final int length)
    {
        final int expected = count(receiveIndex) << 2;
        return length == expected ? null : "frame " + receiveIndex + " has " + length + " bytes, expected " + expected;
    }
}
