package io.paratrain.gradientsharing.internal;

import io.paratrain.gradientsharing.ReduceOp;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

import java.nio.FloatBuffer;

/**
 * Ring all-reduce: reduce-scatter then all-gather, chunked so that they pipeline.
 * <p>
 * With N ranks the data is cut into N segments. At step t = 0 .. 2N-3 rank r sends segment (r - t) mod N to
 * rank r+1 and receives segment (r - t - 1) mod N from rank r-1: the segment received at step t is the one sent
 * at step t+1, so chunk j of step t may go as soon as chunk j of step t-1 has arrived. Steps 0 .. N-2 add the
 * received values (reduce-scatter; after them rank r holds the full reduction of segment r+1, divided by N for a
 * mean), steps N-1 .. 2N-3 copy them (all-gather). Every element is reduced by exactly one rank and copied to the
 * others, so all ranks end bitwise identical. Each rank sends and receives 2(N-1)/N of the data: bandwidth-optimal.
 * <p>
 * {@link Phase#REDUCE_SCATTER} runs steps 0 .. N-2 alone (rank r ends owning segment r+1), {@link Phase#ALL_GATHER}
 * steps N-1 .. 2N-3 alone (rank r contributes the segment r+1 it owns): a sharded optimizer step fits between them.
 */
final class AllReduceSchedule implements RingSchedule
{
    /** Which steps of the ring all-reduce to run. */
    enum Phase
    {
        ALL, REDUCE_SCATTER, ALL_GATHER
    }

    private final Phase phase;
    private final int firstStep;
    private final MutableDirectBuffer data;
    private final FloatBuffer dataFloats;
    private final FloatMath math;
    private final long length;
    private final ReduceOp op;
    private final int rank;
    private final int worldSize;
    private final SegmentPlan plan;
    private final int steps;
    private final int[] sendStepStart;
    private final int[] receiveStepStart;
    private final int sendCount;
    private final int receiveCount;
    private int receivedStep;
    private int receivedCount;
    private int receivedAt;

    /**
     * @param data       the floats to reduce, as bytes (for copies) ...
     * @param dataFloats ... and as a native-order float view of the same memory (for the vectorised sums).
     */
    AllReduceSchedule(final MutableDirectBuffer data, final FloatBuffer dataFloats, final int length,
        final ReduceOp op, final int rank, final int worldSize, final int chunkFloats, final FloatMath math)
    {
        this(Phase.ALL, data, dataFloats, length, op, rank, worldSize, chunkFloats, math);
    }

    /** One phase of the all-reduce; {@code op} is ignored by {@link Phase#ALL_GATHER}. */
    AllReduceSchedule(final Phase phase, final MutableDirectBuffer data, final FloatBuffer dataFloats,
        final int length, final ReduceOp op, final int rank, final int worldSize, final int chunkFloats,
        final FloatMath math)
    {
        this.phase = phase;
        this.firstStep = phase == Phase.ALL_GATHER ? worldSize - 1 : 0;
        this.data = data;
        this.dataFloats = dataFloats;
        this.math = math;
        this.length = length;
        this.op = op;
        this.rank = rank;
        this.worldSize = worldSize;
        this.plan = new SegmentPlan(length, worldSize, chunkFloats);
        // steps counts the steps of this phase; step k of the phase is step firstStep + k of the all-reduce
        this.steps = phase == Phase.ALL ? 2 * (worldSize - 1) : worldSize - 1;
        this.sendStepStart = new int[steps + 1];
        this.receiveStepStart = new int[steps + 1];
        for (int k = 0; k < steps; k++)
        {
            sendStepStart[k + 1] = sendStepStart[k] + plan.chunkCount(sendSegment(firstStep + k));
            receiveStepStart[k + 1] = receiveStepStart[k] + plan.chunkCount(receiveSegment(firstStep + k));
        }
        this.sendCount = sendStepStart[steps];
        this.receiveCount = receiveStepStart[steps];
    }

    @Override
    public OpKind kind()
    {
        return switch (phase)
        {
            case ALL -> op == ReduceOp.SUM ? OpKind.ALL_REDUCE_SUM : OpKind.ALL_REDUCE_MEAN;
            case REDUCE_SCATTER -> op == ReduceOp.SUM ? OpKind.REDUCE_SCATTER_SUM : OpKind.REDUCE_SCATTER_MEAN;
            case ALL_GATHER -> OpKind.ALL_GATHER_SEGMENTS;
        };
    }

    @Override
    public long opParam()
    {
        return length;
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
        final int k = stepOf(sendStepStart, sendIndex);
        return k == 0 ? -1 : receiveStepStart[k - 1] + (sendIndex - sendStepStart[k]);
    }

    @Override
    public int sendLength(final int sendIndex)
    {
        final int k = stepOf(sendStepStart, sendIndex);
        return plan.chunkLength(sendSegment(firstStep + k), sendIndex - sendStepStart[k]) << 2;
    }

    @Override
    public void writeSend(final int sendIndex, final MutableDirectBuffer buffer, final int offset)
    {
        final int k = stepOf(sendStepStart, sendIndex);
        final int segment = sendSegment(firstStep + k);
        final int chunk = sendIndex - sendStepStart[k];
        buffer.putBytes(offset, data, byteOffset(segment, chunk), plan.chunkLength(segment, chunk) << 2);
    }

    @Override
    public String applyReceive(final int receiveIndex, final DirectBuffer buffer, final int offset, final int length)
    {
        final String problem = locate(receiveIndex, length);
        if (problem != null)
        {
            return problem;
        }
        final int t = receivedStep;
        final int count = receivedCount;
        final int at = receivedAt;
        if (t < worldSize - 2 || (t == worldSize - 2 && op == ReduceOp.SUM))
        {
            math.add(dataFloats, at, buffer, offset, count);
        }
        else if (t == worldSize - 2)
        {
            math.addThenDivide(dataFloats, at, buffer, offset, count, worldSize);
        }
        else
        {
            data.putBytes(at << 2, buffer, offset, length);
        }
        return null;
    }

    @Override
    public int forwardedSend(final int receiveIndex)
    {
        final int k = stepOf(receiveStepStart, receiveIndex);
        return k + 1 < steps ? sendStepStart[k + 1] + (receiveIndex - receiveStepStart[k]) : -1;
    }

    /**
     * The fused form of receive-then-send: a partial sum of the reduce-scatter goes straight to the next rank
     * without being stored (every such segment is overwritten by the all-gather later); the final sum is stored and
     * sent in one pass; an all-gather chunk is stored and passed on from the same read.
     */
    @Override
    public String applyReceiveAndForward(final int receiveIndex, final DirectBuffer buffer, final int offset,
        final int length, final MutableDirectBuffer out, final int outOffset)
    {
        final String problem = locate(receiveIndex, length);
        if (problem != null)
        {
            return problem;
        }
        final int t = receivedStep;
        final int count = receivedCount;
        final int at = receivedAt;
        if (t < worldSize - 2)
        {
            math.sumTo(dataFloats, at, buffer, offset, out, outOffset, count);
        }
        else if (t == worldSize - 2)
        {
            math.sumToBoth(dataFloats, at, buffer, offset, out, outOffset, count,
                op == ReduceOp.MEAN ? worldSize : 1);
        }
        else
        {
            data.putBytes(at << 2, buffer, offset, length);
            out.putBytes(outOffset, buffer, offset, length);
        }
        return null;
    }

    @Override
    public String describeMismatch(final long peerOpParam, final int peerRank)
    {
        return "rank " + rank + " passed " + length + " elements but rank " + peerRank + " passed " + peerOpParam;
    }

    /**
     * Finds where receive {@code receiveIndex} belongs (step, element count, first element) and checks the
     * frame's length; returns what is wrong, or null.
     */
    private String locate(final int receiveIndex, final int length)
    {
        final int k = stepOf(receiveStepStart, receiveIndex);
        final int t = firstStep + k;
        final int segment = receiveSegment(t);
        final int chunk = receiveIndex - receiveStepStart[k];
        final int count = plan.chunkLength(segment, chunk);
        if (length != count << 2)
        {
            return "frame " + receiveIndex + " has " + length + " bytes, expected " + (count << 2);
        }
        receivedStep = t;
        receivedCount = count;
        receivedAt = (int)plan.chunkStart(segment, chunk);
        return null;
    }

    private int byteOffset(final int segment, final int chunk)
    {
        return (int)(plan.chunkStart(segment, chunk) << 2);
    }

    private int sendSegment(final int t)
    {
        return Math.floorMod(rank - t, worldSize);
    }

    private int receiveSegment(final int t)
    {
        return Math.floorMod(rank - t - 1, worldSize);
    }

    /** The step of this phase whose index range holds {@code index}; steps are few, a linear scan is cheapest. */
    private int stepOf(final int[] stepStart, final int index)
    {
        int t = 0;
        while (stepStart[t + 1] <= index)
        {
            t++;
        }
        return t;
    }
}
