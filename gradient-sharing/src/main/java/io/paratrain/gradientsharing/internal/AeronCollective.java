package io.paratrain.gradientsharing.internal;

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
    private final UnsafeBuffer view = new UnsafeBuffer(0, 0);
    private ByteBuffer staging;
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
        final ByteBuffer stage = staging(data.length);
        stage.asFloatBuffer().put(data);
        view.wrap(stage, 0, data.length * Float.BYTES);
        reduce(view, data.length, op);
        stage.asFloatBuffer().get(data);
    }

    @Override
    public synchronized void allReduce(final ByteBuffer directFloats, final ReduceOp op)
    {
        ensureOpen("allReduce");
        requireDirect(directFloats, "allReduce", Float.BYTES);
        requireNonNull(op, "allReduce", "op");
        view.wrap(directFloats, directFloats.position(), directFloats.remaining());
        reduce(view, directFloats.remaining() / Float.BYTES, op);
    }

    @Override
    public synchronized void allReduce(final INDArray array, final ReduceOp op)
    {
        ensureOpen("allReduce");
        Nd4jMemory.requireFloat(array, "allReduce");
        requireNonNull(op, "allReduce", "op");
        if (array.isEmpty())
        {
            reduce(view, 0, op);
            return;
        }
        final INDArray target = Nd4jMemory.isContiguous(array) ? array : array.dup();
        Nd4jMemory.wrapHostMemory(target, view);
        reduce(view, (int)target.length(), op);
        Nd4jMemory.markHostWritten(target);
        if (target != array)
        {
            array.assign(target);
        }
    }

    @Override
    public synchronized void broadcast(final float[] data, final int root)
    {
        ensureOpen("broadcast");
        requireNonNull(data, "broadcast", "data");
        requireRoot(root);
        final ByteBuffer stage = staging(data.length);
        if (rank == root)
        {
            stage.asFloatBuffer().put(data);
        }
        view.wrap(stage, 0, data.length * Float.BYTES);
        exchange.run(new BroadcastSchedule(view, 0, data.length * Float.BYTES, root, rank, worldSize,
            chunkFloats * Float.BYTES));
        stage.asFloatBuffer().get(data);
    }

    @Override
    public synchronized void broadcast(final ByteBuffer directBytes, final int root)
    {
        ensureOpen("broadcast");
        requireDirect(directBytes, "broadcast", 1);
        requireRoot(root);
        view.wrap(directBytes, directBytes.position(), directBytes.remaining());
        exchange.run(new BroadcastSchedule(view, 0, directBytes.remaining(), root, rank, worldSize,
            chunkFloats * Float.BYTES));
    }

    @Override
    public synchronized void broadcast(final INDArray array, final int root)
    {
        ensureOpen("broadcast");
        Nd4jMemory.requireFloat(array, "broadcast");
        requireRoot(root);
        if (array.isEmpty())
        {
            exchange.run(new BroadcastSchedule(view, 0, 0, root, rank, worldSize, chunkFloats * Float.BYTES));
            return;
        }
        final INDArray target = Nd4jMemory.isContiguous(array) ? array : array.dup();
        Nd4jMemory.wrapHostMemory(target, view);
        exchange.run(new BroadcastSchedule(view, 0, (int)target.length() * Float.BYTES, root, rank, worldSize,
            chunkFloats * Float.BYTES));
        Nd4jMemory.markHostWritten(target);
        if (target != array)
        {
            array.assign(target);
        }
    }

    @Override
    public synchronized byte[] broadcastBytes(final byte[] rootData, final int root)
    {
        ensureOpen("broadcast");
        requireRoot(root);
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
        LOG.debug("Rank {} of {} closed: {}", rank, worldSize, exchange.stats());
    }

    private void reduce(final UnsafeBuffer data, final int length, final ReduceOp op)
    {
        exchange.run(new AllReduceSchedule(data, 0, length, op, rank, worldSize, chunkFloats));
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
        staging.clear();
        return staging;
    }

    private void ensureOpen(final String operation)
    {
        if (closed)
        {
            throw new CollectiveClosedException(operation + " on rank " + rank + ": the collective is closed");
        }
    }

    private void requireRoot(final int root)
    {
        if (root < 0 || root >= worldSize)
        {
            throw new CollectiveInputException("broadcast on rank " + rank + ": root " + root +
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
