package io.paratrain.gradientsharing.internal;

import io.paratrain.gradientsharing.ReduceOp;
import org.agrona.concurrent.UnsafeBuffer;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * Runs each collective operation on checked, direct memory: builds the operation's {@link RingSchedule} over the
 * region and runs it on the {@link RingExchange}. Regions are read from position 0 to their limit and changed in
 * place; frames carry at most {@link #chunkBytes()} of data (one Aeron frame, at most 1 MiB).
 */
final class RingOperations
{
    private final RingExchange exchange;
    private final int rank;
    private final int worldSize;
    private final int chunkFloats;
    private final UnsafeBuffer view = new UnsafeBuffer(0, 0);
    private final FloatMath floatMath = new FloatMath();

    RingOperations(final RingExchange exchange, final int rank, final int worldSize)
    {
        this.exchange = exchange;
        this.rank = rank;
        this.worldSize = worldSize;
        this.chunkFloats = Math.max(1, Math.min(exchange.maxFramePayload(), 1 << 20) / Float.BYTES);
    }

    /** Most bytes one frame carries for an operation. */
    int chunkBytes()
    {
        return chunkFloats * Float.BYTES;
    }

    /** Largest item of an all-gather: one frame. */
    int maxGatherBytes()
    {
        return Math.min(exchange.maxFramePayload(), 1 << 20);
    }

    /** Reduces the floats of {@code region} (position 0 to limit) in place. */
    void allReduce(final ByteBuffer region, final ReduceOp op)
    {
        view.wrap(region, 0, region.limit());
        exchange.run(new AllReduceSchedule(view, floats(region), region.limit() / Float.BYTES, op, rank, worldSize,
            chunkFloats, floatMath));
    }

    /** One half of the all-reduce: the reduce-scatter or the all-gather of the segments. */
    void ringPhase(final AllReduceSchedule.Phase phase, final ByteBuffer region, final ReduceOp op)
    {
        view.wrap(region, 0, region.limit());
        exchange.run(new AllReduceSchedule(phase, view, floats(region), region.limit() / Float.BYTES, op, rank,
            worldSize, chunkFloats, floatMath));
    }

    void reduceToRoot(final ByteBuffer region, final int root)
    {
        view.wrap(region, 0, region.limit());
        exchange.run(new ReduceToRootSchedule(view, floats(region), region.limit() / Float.BYTES, root, rank,
            worldSize, chunkFloats, floatMath));
    }

    void broadcast(final ByteBuffer region, final int root)
    {
        view.wrap(region, 0, region.limit());
        exchange.run(new BroadcastSchedule(view, 0, region.limit(), root, rank, worldSize, chunkBytes()));
    }

    /**
     * Gathers every rank's block into {@code rootOut} on the root (null elsewhere); {@code relay} holds the blocks
     * this rank passes on, null when it passes none.
     */
    void gather(final ByteBuffer mine, final ByteBuffer rootOut, final ByteBuffer relay, final int relayBytes,
        final int[] blockBytes, final int root)
    {
        final UnsafeBuffer own = new UnsafeBuffer(mine, mine.position(), mine.remaining());
        final UnsafeBuffer out = rank == root ? new UnsafeBuffer(rootOut, rootOut.position(), rootOut.remaining()) :
            null;
        final UnsafeBuffer relayView = relay == null ? null : new UnsafeBuffer(relay, 0, relayBytes);
        exchange.run(new GatherSchedule(own, out, relayView, blockBytes, root, rank, worldSize, chunkBytes()));
    }

    /** The root's bytes on every rank: first their length, then the bytes. */
    byte[] broadcastBytes(final byte[] rootData, final int root)
    {
        final UnsafeBuffer length = new UnsafeBuffer(new byte[Long.BYTES]);
        if (rank == root)
        {
            length.putLong(0, rootData.length);
        }
        exchange.run(new BroadcastSchedule(length, 0, Long.BYTES, root, rank, worldSize, Long.BYTES));
        final byte[] result = rank == root ? rootData.clone() : new byte[(int)length.getLong(0)];
        exchange.run(new BroadcastSchedule(new UnsafeBuffer(result), 0, result.length, root, rank, worldSize,
            chunkBytes()));
        return result;
    }

    /** Every rank's item, in rank order; {@code kind} tells an all-gather, a barrier and the handshake apart. */
    byte[][] allGather(final OpKind kind, final byte[] mine)
    {
        final AllGatherSchedule schedule = new AllGatherSchedule(kind, mine, rank, worldSize);
        exchange.run(schedule);
        return schedule.items();
    }

    private static FloatBuffer floats(final ByteBuffer region)
    {
        return region.duplicate().order(ByteOrder.nativeOrder()).asFloatBuffer();
    }
}
