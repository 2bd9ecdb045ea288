package io.paratrain.gradientsharing.internal;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * Pipelined ring broadcast: the root sends its bytes in chunks to its right neighbour; every other rank stores
 * each chunk and passes it on, except the root's left neighbour, where the ring ends. Each link carries the data
 * once, and with chunking all links are busy at the same time.
 */
final class BroadcastSchedule implements RingSchedule
{
    private final MutableDirectBuffer data;
    private final int dataOffset;
    private final int lengthBytes;
    private final int root;
    private final int rank;
    private final int chunkBytes;
    private final int chunks;
    private final int sendCount;
    private final int receiveCount;

    BroadcastSchedule(final MutableDirectBuffer data, final int dataOffset, final int lengthBytes, final int root,
        final int rank, final int worldSize, final int chunkBytes)
    {
        this.data = data;
        this.dataOffset = dataOffset;
        this.lengthBytes = lengthBytes;
        this.root = root;
        this.rank = rank;
        this.chunkBytes = chunkBytes;
        this.chunks = lengthBytes == 0 ? 1 : (lengthBytes + chunkBytes - 1) / chunkBytes;
        final boolean lastInRing = Math.floorMod(rank + 1, worldSize) == root;
        this.sendCount = worldSize == 1 || lastInRing ? 0 : chunks;
        this.receiveCount = worldSize == 1 || rank == root ? 0 : chunks;
    }

    @Override
    public OpKind kind()
    {
        return OpKind.BROADCAST;
    }

    @Override
    public long opParam()
    {
        return ((long)root << 48) | lengthBytes;
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
        return rank == root ? -1 : sendIndex;
    }

    @Override
    public int sendLength(final int sendIndex)
    {
        return Math.min(chunkBytes, lengthBytes - sendIndex * chunkBytes);
    }

    @Override
    public void writeSend(final int sendIndex, final MutableDirectBuffer buffer, final int offset)
    {
        buffer.putBytes(offset, data, dataOffset + sendIndex * chunkBytes, sendLength(sendIndex));
    }

    @Override
    public String applyReceive(final int receiveIndex, final DirectBuffer buffer, final int offset, final int length)
    {
        final int expected = sendLength(receiveIndex);
        if (length != expected)
        {
            return "frame " + receiveIndex + " has " + length + " bytes, expected " + expected;
        }
        data.putBytes(dataOffset + receiveIndex * chunkBytes, buffer, offset, length);
        return null;
    }

    @Override
    public String describeMismatch(final long peerOpParam, final int peerRank)
    {
        return "rank " + rank + " called broadcast(root=" + root + ", " + lengthBytes + " bytes) but rank " +
            peerRank + " called broadcast(root=" + (peerOpParam >>> 48) + ", " + (peerOpParam & 0xFFFF_FFFF_FFFFL) +
            " bytes)";
    }
}
