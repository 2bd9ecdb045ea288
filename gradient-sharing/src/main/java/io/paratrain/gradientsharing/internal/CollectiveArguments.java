package io.paratrain.gradientsharing.internal;

import io.paratrain.gradientsharing.exceptions.CollectiveInputException;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * Checks a collective call's arguments on this rank before anything is sent, so that a bad argument fails here
 * with a {@link CollectiveInputException} naming the operation, the rank and what was expected, instead of
 * reaching the ring. What only the ranks together can check (equal lengths, the same operation) the ring checks.
 */
final class CollectiveArguments
{
    private final int rank;
    private final int worldSize;

    CollectiveArguments(final int rank, final int worldSize)
    {
        this.rank = rank;
        this.worldSize = worldSize;
    }

    void requireNonNull(final Object value, final String operation, final String name)
    {
        if (value == null)
        {
            throw new CollectiveInputException(operation + " on rank " + rank + ": " + name + " is null");
        }
    }

    void requireRoot(final int root, final String operation)
    {
        if (root < 0 || root >= worldSize)
        {
            throw new CollectiveInputException(operation + " on rank " + rank + ": root " + root +
                " is not a rank of this ring (0.." + (worldSize - 1) + ")");
        }
    }

    /** A direct buffer whose remaining bytes are whole elements of {@code elementBytes}. */
    void requireDirect(final ByteBuffer buffer, final String operation, final int elementBytes)
    {
        requireNonNull(buffer, operation, "buffer");
        if (!buffer.isDirect())
        {
            throw new CollectiveInputException(operation + " on rank " + rank +
                ": expected a direct ByteBuffer, got a heap buffer");
        }
        if (buffer.remaining() % elementBytes != 0)
        {
            throw new CollectiveInputException(operation + " on rank " + rank + ": " + buffer.remaining() +
                " bytes remaining is not a multiple of " + elementBytes);
        }
    }

    /**
     * A gather's arguments: one block size per rank, this rank's equal to {@code mine}'s bytes, and on the root a
     * direct {@code rootOut} with room for all blocks.
     */
    void requireGather(final ByteBuffer mine, final ByteBuffer rootOut, final int[] blockBytes, final int root)
    {
        requireDirect(mine, "gather", 1);
        requireRoot(root, "gather");
        requireNonNull(blockBytes, "gather", "blockBytes");
        if (blockBytes.length != worldSize || mine.remaining() != blockBytes[rank])
        {
            throw new CollectiveInputException("gather on rank " + rank + ": expected " + worldSize +
                " block sizes with this rank's equal to its " + mine.remaining() + " bytes, got " +
                Arrays.toString(blockBytes));
        }
        final long total = Arrays.stream(blockBytes).asLongStream().sum();
        if (rank == root)
        {
            requireDirect(rootOut, "gather", 1);
            if (rootOut.remaining() < total)
            {
                throw new CollectiveInputException("gather on root " + rank + ": rootOut has " +
                    rootOut.remaining() + " bytes, the blocks need " + total);
            }
        }
    }

    /** An all-gather's item fits in one frame. */
    void requireGatherItem(final byte[] mine, final int maxGatherBytes)
    {
        requireNonNull(mine, "allGather", "mine");
        if (mine.length > maxGatherBytes)
        {
            throw new CollectiveInputException("allGather on rank " + rank + ": " + mine.length +
                " bytes is more than the " + maxGatherBytes + " one frame carries; use broadcastBytes per rank");
        }
    }
}
