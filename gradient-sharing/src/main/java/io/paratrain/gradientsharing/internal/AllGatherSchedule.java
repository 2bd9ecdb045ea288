package io.paratrain.gradientsharing.internal;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * Ring all-gather of one small byte array per rank (each fits one frame): at step t = 0 .. N-2 rank r passes
 * item (r - t) mod N to the right and receives item (r - t - 1) mod N from the left. A barrier is an all-gather
 * of empty items: no rank can finish before every rank has started.
 */
final class AllGatherSchedule implements RingSchedule
{
    private final OpKind kind;
    private final byte[][] items;
    private final int rank;
    private final int worldSize;

    AllGatherSchedule(final OpKind kind, final byte[] mine, final int rank, final int worldSize)
    {
        this.kind = kind;
        this.items = new byte[worldSize][];
        this.items[rank] = mine.clone();
        this.rank = rank;
        this.worldSize = worldSize;
    }

    /** Every rank's item, indexed by rank. */
    byte[][] items()
    {
        return items;
    }

    @Override
    public OpKind kind()
    {
        return kind;
    }

    @Override
    public long opParam()
    {
        return worldSize;
    }

    @Override
    public int sendCount()
    {
        return worldSize - 1;
    }

    @Override
    public int receiveCount()
    {
        return worldSize - 1;
    }

    @Override
    public int sendPrerequisite(final int sendIndex)
    {
        return sendIndex - 1;
    }

    @Override
    public int sendLength(final int sendIndex)
    {
        return items[Math.floorMod(rank - sendIndex, worldSize)].length;
    }

    @Override
    public void writeSend(final int sendIndex, final MutableDirectBuffer buffer, final int offset)
    {
        buffer.putBytes(offset, items[Math.floorMod(rank - sendIndex, worldSize)]);
    }

    @Override
    public String applyReceive(final int receiveIndex, final DirectBuffer buffer, final int offset, final int length)
    {
        final byte[] item = new byte[length];
        buffer.getBytes(offset, item);
        items[Math.floorMod(rank - receiveIndex - 1, worldSize)] = item;
        return null;
    }

    @Override
    public String describeMismatch(final long peerOpParam, final int peerRank)
    {
        return "rank " + rank + " has world size " + worldSize + " but rank " + peerRank + " has " + peerOpParam;
    }
}
