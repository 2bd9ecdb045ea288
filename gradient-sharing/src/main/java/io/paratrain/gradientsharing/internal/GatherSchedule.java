package io.paratrain.gradientsharing.internal;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * Pipelined gather of one block per rank (sizes may differ, known to all) into the root, in rank order.
 * <p>
 * With positions p = (rank - root - 1) mod N (the root is N-1), rank p sends its own block, then passes on the
 * blocks of positions p-1, ..., 0 in the order they arrive from its left neighbour; the root receives the
 * blocks of positions N-2, ..., 0 and places each at its rank's offset. A relayed chunk goes straight into the
 * outgoing frame when the log has room, else it waits in the relay buffer until it can be sent.
 */
final class GatherSchedule implements RingSchedule
{
    private final DirectBuffer mine;
    private final MutableDirectBuffer out;
    private final MutableDirectBuffer relay;
    private final int[] blockBytes;
    private final int[] outOffset;
    private final int root;
    private final int rank;
    private final int chunkBytes;
    private final int ownChunks;
    private final int[] receivedRank;
    private final int[] receivedChunk;
    private final int[] relayOffset;
    private final int sendCount;
    private final long totalBytes;

    /**
     * @param mine   this rank's block ({@code blockBytes[rank]} bytes from offset 0).
     * @param out    on the root, room for all blocks in rank order; ignored elsewhere.
     * @param relay  on other ranks, room for the blocks they pass on ({@link #relayBytes}).
     */
    GatherSchedule(final DirectBuffer mine, final MutableDirectBuffer out, final MutableDirectBuffer relay,
        final int[] blockBytes, final int root, final int rank, final int worldSize, final int chunkBytes)
    {
        this.mine = mine;
        this.out = out;
        this.relay = relay;
        this.blockBytes = blockBytes.clone();
        this.root = root;
        this.rank = rank;
        this.chunkBytes = chunkBytes;
        this.outOffset = new int[worldSize];
        long total = 0;
        for (int r = 0; r < worldSize; r++)
        {
            outOffset[r] = (int)total;
            total += blockBytes[r];
        }
        this.totalBytes = total;
        final int position = worldSize == 1 ? 0 : Math.floorMod(rank - root - 1, worldSize);
        final int positionsBefore = rank == root ? worldSize - 1 : position;
        int receives = 0;
        for (int q = positionsBefore - 1; q >= 0; q--)
        {
            receives += chunks(blockBytes[rankAt(q, worldSize)]);
        }
        this.receivedRank = new int[receives];
        this.receivedChunk = new int[receives];
        this.relayOffset = new int[receives];
        int i = 0;
        int relayed = 0;
        for (int q = positionsBefore - 1; q >= 0; q--)
        {
            final int from = rankAt(q, worldSize);
            for (int c = 0; c < chunks(blockBytes[from]); c++, i++)
            {
                receivedRank[i] = from;
                receivedChunk[i] = c;
                relayOffset[i] = relayed;
                relayed += chunkLength(from, c);
            }
        }
        this.ownChunks = rank == root || worldSize == 1 ? 0 : chunks(blockBytes[rank]);
        this.sendCount = rank == root || worldSize == 1 ? 0 : ownChunks + receives;
        if (rank == root && blockBytes[rank] > 0)
        {
            out.putBytes(outOffset[rank], mine, 0, blockBytes[rank]);
        }
    }

    /** Bytes a rank must be able to relay: the blocks of the ranks between the root and it. */
    static int relayBytes(final int[] blockBytes, final int root, final int rank, final int worldSize)
    {
        if (rank == root || worldSize == 1)
        {
            return 0;
        }
        long bytes = 0;
        for (int q = 0; q < Math.floorMod(rank - root - 1, worldSize); q++)
        {
            bytes += blockBytes[Math.floorMod(root + 1 + q, worldSize)];
        }
        return (int)bytes;
    }

    @Override
    public OpKind kind()
    {
        return OpKind.GATHER;
    }

    @Override
    public long opParam()
    {
        return ((long)root << 48) | totalBytes;
    }

    @Override
    public int sendCount()
    {
        return sendCount;
    }

    @Override
    public int receiveCount()
    {
        return receivedRank.length;
    }

    @Override
    public int sendPrerequisite(final int sendIndex)
    {
        return sendIndex < ownChunks ? -1 : sendIndex - ownChunks;
    }

    @Override
    public int sendLength(final int sendIndex)
    {
        return sendIndex < ownChunks ? chunkLength(rank, sendIndex) :
            chunkLength(receivedRank[sendIndex - ownChunks], receivedChunk[sendIndex - ownChunks]);
    }

    @Override
    public void writeSend(final int sendIndex, final MutableDirectBuffer buffer, final int offset)
    {
        if (sendIndex < ownChunks)
        {
            buffer.putBytes(offset, mine, sendIndex * chunkBytes, sendLength(sendIndex));
        }
        else
        {
            buffer.putBytes(offset, relay, relayOffset[sendIndex - ownChunks], sendLength(sendIndex));
        }
    }

    @Override
    public String applyReceive(final int receiveIndex, final DirectBuffer buffer, final int offset, final int length)
    {
        final String problem = check(receiveIndex, length);
        if (problem != null)
        {
            return problem;
        }
        if (rank == root)
        {
            out.putBytes(outOffset[receivedRank[receiveIndex]] + receivedChunk[receiveIndex] * chunkBytes, buffer,
                offset, length);
        }
        else
        {
            relay.putBytes(relayOffset[receiveIndex], buffer, offset, length);
        }
        return null;
    }

    @Override
    public int forwardedSend(final int receiveIndex)
    {
        return rank == root ? -1 : ownChunks + receiveIndex;
    }

    @Override
    public String applyReceiveAndForward(final int receiveIndex, final DirectBuffer buffer, final int offset,
        final int length, final MutableDirectBuffer frame, final int frameOffset)
    {
        final String problem = check(receiveIndex, length);
        if (problem == null)
        {
            frame.putBytes(frameOffset, buffer, offset, length);
        }
        return problem;
    }

    @Override
    public String describeMismatch(final long peerOpParam, final int peerRank)
    {
        return "rank " + rank + " called gather(root=" + root + ", " + totalBytes + " bytes in all) but rank " +
            peerRank + " called gather(root=" + (peerOpParam >>> 48) + ", " + (peerOpParam & 0xFFFF_FFFF_FFFFL) +
            " bytes in all)";
    }

    private int rankAt(final int position, final int worldSize)
    {
        return Math.floorMod(root + 1 + position, worldSize);
    }

    private int chunks(final int bytes)
    {
        return bytes == 0 ? 1 : (bytes + chunkBytes - 1) / chunkBytes;
    }

    private int chunkLength(final int blockRank, final int chunk)
    {
        return Math.min(chunkBytes, blockBytes[blockRank] - chunk * chunkBytes);
    }

    private String check(final int receiveIndex, final int length)
    {
        final int expected = chunkLength(receivedRank[receiveIndex], receivedChunk[receiveIndex]);
        return length == expected ? null : "frame " + receiveIndex + " (block of rank " +
            receivedRank[receiveIndex] + ") has " + length + " bytes, expected " + expected;
    }
}
