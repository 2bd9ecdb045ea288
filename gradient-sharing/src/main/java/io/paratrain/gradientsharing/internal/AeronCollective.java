package io.paratrain.gradientsharing.internal;

import io.paratrain.gradientsharing.Nd4jMemory;
import io.paratrain.gradientsharing.Collective;
import io.paratrain.gradientsharing.CollectiveStats;
import io.paratrain.gradientsharing.ReduceOp;
import io.paratrain.gradientsharing.exceptions.CollectiveClosedException;
import io.paratrain.gradientsharing.exceptions.CollectiveInputException;
import org.agrona.BufferUtil;
import org.agrona.CloseHelper;
import org.agrona.concurrent.UnsafeBuffer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/** {@link Collective} over an Aeron ring; built by {@link io.paratrain.gradientsharing.RingRendezvous}. */
public final class AeronCollective implements Collective
{
    private static final Logger LOG = LoggerFactory.getLogger(AeronCollective.class);
    private static final int MAX_FLOATS = Integer.MAX_VALUE / Float.BYTES;

    private final int rank;
    private final int worldSize;
    private final RingLink link;
    private final RingExchange exchange;
    private final SharedMediaDriver driver;
    private final long closeTimeoutMs;
    private final int chunkFloats;
    private static final ByteBuffer EMPTY = ByteBuffer.allocateDirect(0);

    private final UnsafeBuffer view = new UnsafeBuffer(0, 0);
    private final FloatMath floatMath = new FloatMath();
    private ByteBuffer staging;
    private ByteBuffer relay;
    private boolean closed;

    public AeronCollective(final int rank, final int worldSize, final RingLink link, final RingExchange exchange,
        final SharedMediaDriver driver, final long closeTimeoutMs)
    {
        this.rank = rank;
        this.worldSize = worldSize;
        this.link = link;
        this.exchange = exchange;
        this.driver = driver;
        this.closeTimeoutMs = closeTimeoutMs;
        this.chunkFloats = Math.max(1, Math.min(exchange.maxFramePayload(), 1 << 20) / Float.BYTES);
    }

    @Override
    public int rank()
    {
        return rank;
    }

    @Override
    public int worldSize()
    {
        return worldSize;
    }

    @Override
    public synchronized void allReduce(final float[] data, final ReduceOp op)
    {
        ensureOpen("allReduce");
        requireNonNull(data, "allReduce", "data");
        requireNonNull(op, "allReduce", "op");
        onStagedCopy(data, stage -> allReduceRegion(stage, op));
    }

    @Override
    public synchronized void allReduce(final ByteBuffer directFloats, final ReduceOp op)
    {
        ensureOpen("allReduce");
        requireDirect(directFloats, "allReduce", Float.BYTES);
        requireNonNull(op, "allReduce", "op");
        allReduceRegion(directFloats.slice(directFloats.position(), directFloats.remaining()), op);
    }

    @Override
    public synchronized void allReduce(final INDArray array, final ReduceOp op)
    {
        ensureOpen("allReduce");
        Nd4jMemory.requireFloat(array, "allReduce");
        requireNonNull(op, "allReduce", "op");
        onHostMemory(array, bytes -> allReduceRegion(bytes, op));
    }

    @Override
    public synchronized void reduceScatter(final INDArray array, final ReduceOp op)
    {
        ensureOpen("reduceScatter");
        Nd4jMemory.requireFloat(array, "reduceScatter");
        requireNonNull(op, "reduceScatter", "op");
        onHostMemory(array, bytes -> ringPhase(AllReduceSchedule.Phase.REDUCE_SCATTER, bytes, op));
    }

    @Override
    public synchronized void reduceScatter(final float[] data, final ReduceOp op)
    {
        ensureOpen("reduceScatter");
        requireNonNull(data, "reduceScatter", "data");
        requireNonNull(op, "reduceScatter", "op");
        onStagedCopy(data, stage -> ringPhase(AllReduceSchedule.Phase.REDUCE_SCATTER, stage, op));
    }

    @Override
    public synchronized void allGatherSegments(final INDArray array)
    {
        ensureOpen("allGatherSegments");
        Nd4jMemory.requireFloat(array, "allGatherSegments");
        onHostMemory(array, bytes -> ringPhase(AllReduceSchedule.Phase.ALL_GATHER, bytes, ReduceOp.SUM));
    }

    @Override
    public synchronized void allGatherSegments(final float[] data)
    {
        ensureOpen("allGatherSegments");
        requireNonNull(data, "allGatherSegments", "data");
        onStagedCopy(data, stage -> ringPhase(AllReduceSchedule.Phase.ALL_GATHER, stage, ReduceOp.SUM));
    }

    @Override
    public Segment ownedSegment(final long length)
    {
        // the reduce-scatter leaves rank r with the full reduction of segment r + 1 (see AllReduceSchedule)
        final SegmentPlan plan = new SegmentPlan(length, worldSize, 1);
        final int segment = (rank + 1) % worldSize;
        return new Segment(plan.segmentStart(segment), plan.segmentStart(segment) + plan.segmentLength(segment));
    }

    @Override
    public synchronized void broadcast(final float[] data, final int root)
    {
        ensureOpen("broadcast");
        requireNonNull(data, "broadcast", "data");
        requireRoot(root, "broadcast");
        final ByteBuffer stage = staging(data.length);
        if (rank == root)
        {
            stage.asFloatBuffer().put(data);
        }
        broadcastRegion(stage, root);
        stage.asFloatBuffer().get(data);
    }

    @Override
    public synchronized void broadcast(final ByteBuffer directBytes, final int root)
    {
        ensureOpen("broadcast");
        requireDirect(directBytes, "broadcast", 1);
        requireRoot(root, "broadcast");
        broadcastRegion(directBytes.slice(directBytes.position(), directBytes.remaining()), root);
    }

    @Override
    public synchronized void broadcast(final INDArray array, final int root)
    {
        ensureOpen("broadcast");
        Nd4jMemory.requireFloat(array, "broadcast");
        requireRoot(root, "broadcast");
        onHostMemory(array, bytes -> broadcastRegion(bytes, root));
    }

    @Override
    public synchronized void reduce(final ByteBuffer directFloats, final int root)
    {
        ensureOpen("reduce");
        requireDirect(directFloats, "reduce", Float.BYTES);
        requireRoot(root, "reduce");
        reduceToRoot(directFloats.slice(directFloats.position(), directFloats.remaining()), root);
    }

    @Override
    public synchronized void reduce(final INDArray array, final int root)
    {
        ensureOpen("reduce");
        Nd4jMemory.requireFloat(array, "reduce");
        requireRoot(root, "reduce");
        onHostMemory(array, bytes -> reduceToRoot(bytes, root));
    }

    @Override
    public synchronized void gather(final ByteBuffer mine, final ByteBuffer rootOut, final int[] blockBytes,
        final int root)
    {
        ensureOpen("gather");
        requireDirect(mine, "gather", 1);
        requireRoot(root, "gather");
        requireNonNull(blockBytes, "gather", "blockBytes");
        if (blockBytes.length != worldSize || mine.remaining() != blockBytes[rank])
        {
            throw new CollectiveInputException("gather on rank " + rank + ": expected " + worldSize +
                " block sizes with this rank's equal to its " + mine.remaining() + " bytes, got " +
                java.util.Arrays.toString(blockBytes));
        }
        final long total = java.util.Arrays.stream(blockBytes).asLongStream().sum();
        if (rank == root)
        {
            requireDirect(rootOut, "gather", 1);
            if (rootOut.remaining() < total)
            {
                throw new CollectiveInputException("gather on root " + rank + ": rootOut has " +
                    rootOut.remaining() + " bytes, the blocks need " + total);
            }
        }
        final UnsafeBuffer own = new UnsafeBuffer(mine, mine.position(), mine.remaining());
        final UnsafeBuffer out = rank == root ? new UnsafeBuffer(rootOut, rootOut.position(), rootOut.remaining()) :
            null;
        final int relayBytes = GatherSchedule.relayBytes(blockBytes, root, rank, worldSize);
        final UnsafeBuffer relayView = relayBytes == 0 ? null : new UnsafeBuffer(relay(relayBytes), 0, relayBytes);
        exchange.run(new GatherSchedule(own, out, relayView, blockBytes, root, rank, worldSize,
            chunkFloats * Float.BYTES));
    }

    @Override
    public synchronized byte[] broadcastBytes(final byte[] rootData, final int root)
    {
        ensureOpen("broadcast");
        requireRoot(root, "broadcast");
        if (rank == root)
        {
            requireNonNull(rootData, "broadcast", "rootData on the root rank");
        }
        final UnsafeBuffer length = new UnsafeBuffer(new byte[Long.BYTES]);
        if (rank == root)
        {
            length.putLong(0, rootData.length);
        }
        exchange.run(new BroadcastSchedule(length, 0, Long.BYTES, root, rank, worldSize, Long.BYTES));
        final byte[] result = rank == root ? rootData.clone() : new byte[(int)length.getLong(0)];
        exchange.run(new BroadcastSchedule(new UnsafeBuffer(result), 0, result.length, root, rank, worldSize,
            chunkFloats * Float.BYTES));
        return result;
    }

    @Override
    public synchronized byte[][] allGather(final byte[] mine)
    {
        ensureOpen("allGather");
        requireNonNull(mine, "allGather", "mine");
        if (mine.length > maxGatherBytes())
        {
            throw new CollectiveInputException("allGather on rank " + rank + ": " + mine.length +
                " bytes is more than the " + maxGatherBytes() + " one frame carries; use broadcastBytes per rank");
        }
        final AllGatherSchedule schedule = new AllGatherSchedule(OpKind.ALL_GATHER, mine, rank, worldSize);
        exchange.run(schedule);
        return schedule.items();
    }

    @Override
    public synchronized void barrier()
    {
        ensureOpen("barrier");
        exchange.run(new AllGatherSchedule(OpKind.BARRIER, new byte[0], rank, worldSize));
    }

    @Override
    public int maxGatherBytes()
    {
        return Math.min(exchange.maxFramePayload(), 1 << 20);
    }

    @Override
    public CollectiveStats stats()
    {
        return exchange.stats();
    }

    /** Runs the handshake: an all-gather of every rank's endpoint, checked against the list this rank was given. */
    public byte[][] handshake(final byte[] endpoint)
    {
        final AllGatherSchedule schedule = new AllGatherSchedule(OpKind.HANDSHAKE, endpoint, rank, worldSize);
        exchange.run(schedule);
        return schedule.items();
    }

    @Override
    public synchronized void close()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        CloseHelper.quietClose(link);
        driver.release(closeTimeoutMs);
        if (staging != null)
        {
            BufferUtil.free(staging);
            staging = null;
        }
        if (relay != null)
        {
            BufferUtil.free(relay);
            relay = null;
        }
        LOG.debug("Rank {} of {} closed: {}", rank, worldSize, exchange.stats());
    }

    /** Reduces the floats of {@code region} (position 0 to limit) in place. */
    private void allReduceRegion(final ByteBuffer region, final ReduceOp op)
    {
        view.wrap(region, 0, region.limit());
        final FloatBuffer floats = region.duplicate().order(ByteOrder.nativeOrder()).asFloatBuffer();
        exchange.run(new AllReduceSchedule(view, floats, region.limit() / Float.BYTES, op, rank, worldSize,
            chunkFloats, floatMath));
    }

    private void ringPhase(final AllReduceSchedule.Phase phase, final ByteBuffer region, final ReduceOp op)
    {
        view.wrap(region, 0, region.limit());
        final FloatBuffer floats = region.duplicate().order(ByteOrder.nativeOrder()).asFloatBuffer();
        exchange.run(new AllReduceSchedule(phase, view, floats, region.limit() / Float.BYTES, op, rank, worldSize,
            chunkFloats, floatMath));
    }

    private void reduceToRoot(final ByteBuffer region, final int root)
    {
        view.wrap(region, 0, region.limit());
        final FloatBuffer floats = region.duplicate().order(ByteOrder.nativeOrder()).asFloatBuffer();
        exchange.run(new ReduceToRootSchedule(view, floats, region.limit() / Float.BYTES, root, rank, worldSize,
            chunkFloats, floatMath));
    }

    private ByteBuffer relay(final int bytes)
    {
        if (relay == null || relay.capacity() < bytes)
        {
            if (relay != null)
            {
                BufferUtil.free(relay);
            }
            relay = ByteBuffer.allocateDirect(bytes);
        }
        return relay;
    }

    private void broadcastRegion(final ByteBuffer region, final int root)
    {
        view.wrap(region, 0, region.limit());
        exchange.run(new BroadcastSchedule(view, 0, region.limit(), root, rank, worldSize, chunkFloats * Float.BYTES));
    }

    /**
     * Runs {@code operation} on the array's own memory when ND4J exposes it contiguously, otherwise on a
     * contiguous copy that is written back afterwards.
     */
    private void onHostMemory(final INDArray array, final java.util.function.Consumer<ByteBuffer> operation)
    {
        if (array.isEmpty())
        {
            operation.accept(EMPTY);
            return;
        }
        ByteBuffer bytes = Nd4jMemory.isContiguous(array) ? Nd4jMemory.hostBytes(array) : null;
        final INDArray target = bytes == null ? array.dup() : array;
        if (bytes == null)
        {
            bytes = Nd4jMemory.hostBytes(target);
            if (bytes == null)
            {
                throw new CollectiveInputException("rank " + rank + ": ND4J gives no host memory for a copy of " +
                    "an array of shape " + java.util.Arrays.toString(array.shape()));
            }
        }
        operation.accept(bytes);
        Nd4jMemory.markHostWritten(target);
        if (target != array)
        {
            array.assign(target);
        }
    }

    /** Runs {@code operation} on a direct copy of {@code data} and copies the result back. */
    private void onStagedCopy(final float[] data, final java.util.function.Consumer<ByteBuffer> operation)
    {
        final ByteBuffer stage = staging(data.length);
        stage.asFloatBuffer().put(data);
        operation.accept(stage);
        stage.asFloatBuffer().get(data);
    }

    private ByteBuffer staging(final int floats)
    {
        if (floats > MAX_FLOATS)
        {
            throw new CollectiveInputException("rank " + rank + ": " + floats + " floats is more than " +
                MAX_FLOATS + " per call");
        }
        final int bytes = floats * Float.BYTES;
        if (staging == null || staging.capacity() < bytes)
        {
            if (staging != null)
            {
                BufferUtil.free(staging);
            }
            staging = ByteBuffer.allocateDirect(Math.max(bytes, 4096)).order(ByteOrder.nativeOrder());
        }
        return staging.clear().limit(bytes);
    }

    private void ensureOpen(final String operation)
    {
        if (closed)
        {
            throw new CollectiveClosedException(operation + " on rank " + rank + ": the collective is closed");
        }
    }

    private void requireRoot(final int root, final String operation)
    {
        if (root < 0 || root >= worldSize)
        {
            throw new CollectiveInputException(operation + " on rank " + rank + ": root " + root +
                " is not a rank of this ring (0.." + (worldSize - 1) + ")");
        }
    }

    private void requireDirect(final ByteBuffer buffer, final String operation, final int elementBytes)
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

    private void requireNonNull(final Object value, final String operation, final String name)
    {
        if (value == null)
        {
            throw new CollectiveInputException(operation + " on rank " + rank + ": " + name + " is null");
        }
    }
}
