package io.paratrain.gradientsharing.internal;

import io.paratrain.gradientsharing.Nd4jMemory;
import io.paratrain.gradientsharing.Collective;
import io.paratrain.gradientsharing.CollectiveStats;
import io.paratrain.gradientsharing.ReduceOp;
import io.paratrain.gradientsharing.exceptions.CollectiveClosedException;
import org.agrona.CloseHelper;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;

/**
 * {@link Collective} over an Aeron ring; built by {@link io.paratrain.gradientsharing.RingRendezvous}. Each call
 * checks that the collective is open and its arguments ({@link CollectiveArguments}), turns them into direct
 * memory ({@link RegionAdapter}) and runs the operation ({@link RingOperations}); calls are serialized.
 */
public final class AeronCollective implements Collective
{
    private static final Logger LOG = LoggerFactory.getLogger(AeronCollective.class);

    private final int rank;
    private final int worldSize;
    private final RingLink link;
    private final RingExchange exchange;
    private final SharedMediaDriver driver;
    private final long closeTimeoutMs;
    private final CollectiveArguments arguments;
    private final RegionAdapter regions;
    private final RingOperations operations;
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
        this.arguments = new CollectiveArguments(rank, worldSize);
        this.regions = new RegionAdapter(rank);
        this.operations = new RingOperations(exchange, rank, worldSize);
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
        arguments.requireNonNull(data, "allReduce", "data");
        arguments.requireNonNull(op, "allReduce", "op");
        regions.onStagedCopy(data, stage -> operations.allReduce(stage, op));
    }

    @Override
    public synchronized void allReduce(final ByteBuffer directFloats, final ReduceOp op)
    {
        ensureOpen("allReduce");
        arguments.requireDirect(directFloats, "allReduce", Float.BYTES);
        arguments.requireNonNull(op, "allReduce", "op");
        operations.allReduce(directFloats.slice(directFloats.position(), directFloats.remaining()), op);
    }

    @Override
    public synchronized void allReduce(final INDArray array, final ReduceOp op)
    {
        ensureOpen("allReduce");
        Nd4jMemory.requireFloat(array, "allReduce");
        arguments.requireNonNull(op, "allReduce", "op");
        regions.onHostMemory(array, bytes -> operations.allReduce(bytes, op));
    }

    @Override
    public synchronized void reduceScatter(final INDArray array, final ReduceOp op)
    {
        ensureOpen("reduceScatter");
        Nd4jMemory.requireFloat(array, "reduceScatter");
        arguments.requireNonNull(op, "reduceScatter", "op");
        regions.onHostMemory(array, bytes -> operations.ringPhase(AllReduceSchedule.Phase.REDUCE_SCATTER, bytes, op));
    }

    @Override
    public synchronized void reduceScatter(final float[] data, final ReduceOp op)
    {
        ensureOpen("reduceScatter");
        arguments.requireNonNull(data, "reduceScatter", "data");
        arguments.requireNonNull(op, "reduceScatter", "op");
        regions.onStagedCopy(data, stage -> operations.ringPhase(AllReduceSchedule.Phase.REDUCE_SCATTER, stage, op));
    }

    @Override
    public synchronized void allGatherSegments(final INDArray array)
    {
        ensureOpen("allGatherSegments");
        Nd4jMemory.requireFloat(array, "allGatherSegments");
        regions.onHostMemory(array, bytes -> operations.ringPhase(AllReduceSchedule.Phase.ALL_GATHER, bytes,
            ReduceOp.SUM));
    }

    @Override
    public synchronized void allGatherSegments(final float[] data)
    {
        ensureOpen("allGatherSegments");
        arguments.requireNonNull(data, "allGatherSegments", "data");
        regions.onStagedCopy(data, stage -> operations.ringPhase(AllReduceSchedule.Phase.ALL_GATHER, stage,
            ReduceOp.SUM));
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
        arguments.requireNonNull(data, "broadcast", "data");
        arguments.requireRoot(root, "broadcast");
        final ByteBuffer stage = regions.staging(data.length);
        if (rank == root)
        {
            stage.asFloatBuffer().put(data);
        }
        operations.broadcast(stage, root);
        stage.asFloatBuffer().get(data);
    }

    @Override
    public synchronized void broadcast(final ByteBuffer directBytes, final int root)
    {
        ensureOpen("broadcast");
        arguments.requireDirect(directBytes, "broadcast", 1);
        arguments.requireRoot(root, "broadcast");
        operations.broadcast(directBytes.slice(directBytes.position(), directBytes.remaining()), root);
    }

    @Override
    public synchronized void broadcast(final INDArray array, final int root)
    {
        ensureOpen("broadcast");
        Nd4jMemory.requireFloat(array, "broadcast");
        arguments.requireRoot(root, "broadcast");
        regions.onHostMemory(array, bytes -> operations.broadcast(bytes, root));
    }

    @Override
    public synchronized void reduce(final ByteBuffer directFloats, final int root)
    {
        ensureOpen("reduce");
        arguments.requireDirect(directFloats, "reduce", Float.BYTES);
        arguments.requireRoot(root, "reduce");
        operations.reduceToRoot(directFloats.slice(directFloats.position(), directFloats.remaining()), root);
    }

    @Override
    public synchronized void reduce(final INDArray array, final int root)
    {
        ensureOpen("reduce");
        Nd4jMemory.requireFloat(array, "reduce");
        arguments.requireRoot(root, "reduce");
        regions.onHostMemory(array, bytes -> operations.reduceToRoot(bytes, root));
    }

    @Override
    public synchronized void gather(final ByteBuffer mine, final ByteBuffer rootOut, final int[] blockBytes,
        final int root)
    {
        ensureOpen("gather");
        arguments.requireGather(mine, rootOut, blockBytes, root);
        final int relayBytes = GatherSchedule.relayBytes(blockBytes, root, rank, worldSize);
        operations.gather(mine, rootOut, relayBytes == 0 ? null : regions.relay(relayBytes), relayBytes, blockBytes,
            root);
    }

    @Override
    public synchronized byte[] broadcastBytes(final byte[] rootData, final int root)
    {
        ensureOpen("broadcast");
        arguments.requireRoot(root, "broadcast");
        if (rank == root)
        {
            arguments.requireNonNull(rootData, "broadcast", "rootData on the root rank");
        }
        return operations.broadcastBytes(rootData, root);
    }

    @Override
    public synchronized byte[][] allGather(final byte[] mine)
    {
        ensureOpen("allGather");
        arguments.requireGatherItem(mine, maxGatherBytes());
        return operations.allGather(OpKind.ALL_GATHER, mine);
    }

    @Override
    public synchronized void barrier()
    {
        ensureOpen("barrier");
        operations.allGather(OpKind.BARRIER, new byte[0]);
    }

    @Override
    public int maxGatherBytes()
    {
        return operations.maxGatherBytes();
    }

    @Override
    public CollectiveStats stats()
    {
        return exchange.stats();
    }

    /** Runs the handshake: an all-gather of every rank's endpoint, checked against the list this rank was given. */
    public byte[][] handshake(final byte[] endpoint)
    {
        return operations.allGather(OpKind.HANDSHAKE, endpoint);
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
        regions.close();
        LOG.debug("Rank {} of {} closed: {}", rank, worldSize, exchange.stats());
    }

    private void ensureOpen(final String operation)
    {
        if (closed)
        {
            throw new CollectiveClosedException(operation + " on rank " + rank + ": the collective is closed");
        }
    }
}
