package io.paratrain.gradientsharing;

import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.ByteBuffer;

/**
 * One rank's handle on a synchronous collective over a ring of {@link #worldSize()} ranks. Every rank must make
 * the same calls in the same order with agreeing arguments; a disagreement is reported as an error on the ranks
 * instead of corrupting data. Every call either completes or throws a
 * {@link io.paratrain.gradientsharing.exceptions.CollectiveException} within the configured timeout of the last
 * progress; after an error the collective cannot be used again (close it and build a new ring). A rank that only
 * sends in an operation (the root of a broadcast, the first rank of a reduce or gather chain) cannot see a
 * peer's failure during that call; it gets the error at its next call.
 * <p>
 * Float data is reduced in place. Results are bitwise identical on every rank.
 * Obtain one with {@link RingRendezvous}. Not meant for concurrent use from several threads.
 */
public interface Collective extends AutoCloseable
{
    int rank();

    int worldSize();

    /** Reduces {@code data} in place across all ranks (staged through a reused direct buffer). */
    void allReduce(float[] data, ReduceOp op);

    /**
     * Reduces the native-order floats between the buffer's position and limit in place, without copies.
     * The buffer must be direct and its remaining length a multiple of 4.
     */
    void allReduce(ByteBuffer directFloats, ReduceOp op);

    /**
     * Reduces a FLOAT array in place; a contiguous array or view (element-wise stride 1) is reduced in its own
     * memory without copies, any other layout through a temporary copy.
     */
    void allReduce(INDArray array, ReduceOp op);

    /**
     * The first half of {@link #allReduce(INDArray, ReduceOp)}: afterwards this rank's {@link #ownedSegment} of
     * the array holds the reduction over all ranks (bitwise what allReduce gives there); the rest of the array is
     * left with partial sums. Each rank sends and receives (N-1)/N of the data. With
     * {@link #allGatherSegments} after it, each rank can update only the segment it owns (a sharded optimizer
     * step) and still end identical to the others.
     */
    void reduceScatter(INDArray array, ReduceOp op);

    /** {@link #reduceScatter(INDArray, ReduceOp)} for a float array. */
    void reduceScatter(float[] data, ReduceOp op);

    /**
     * The second half of {@link #allReduce(INDArray, ReduceOp)}: every rank contributes its
     * {@link #ownedSegment} of the array, and afterwards every rank holds all segments, bitwise as their owners
     * had them.
     */
    void allGatherSegments(INDArray array);

    /** {@link #allGatherSegments(INDArray)} for a float array. */
    void allGatherSegments(float[] data);

    /**
     * The elements this rank owns in {@link #reduceScatter} and {@link #allGatherSegments} of an array of
     * {@code length} elements: one of N contiguous segments whose sizes differ by at most one.
     */
    Segment ownedSegment(long length);

    /** Elements {@code start} (inclusive) to {@code end} (exclusive) of an array. */
    record Segment(long start, long end)
    {
        public long length()
        {
            return end - start;
        }
    }

    /** Replaces {@code data} on every rank with the root's values; all ranks pass arrays of equal length. */
    void broadcast(float[] data, int root);

    /** Like {@link #broadcast(float[], int)} for the bytes between position and limit of a direct buffer. */
    void broadcast(ByteBuffer directBytes, int root);

    /** Like {@link #broadcast(float[], int)} for a FLOAT INDArray of equal shape on every rank. */
    void broadcast(INDArray array, int root);

    /**
     * Sums every rank's floats (between position and limit of a direct buffer) into the root's buffer, in a fixed
     * order, so the result is deterministic. Afterwards another rank's buffer holds its own values or a partial
     * sum. For the model-split backward pass (partial input gradients summed on one rank).
     */
    void reduce(ByteBuffer directFloats, int root);

    /** Like {@link #reduce(ByteBuffer, int)} for a FLOAT INDArray of equal length on every rank. */
    void reduce(INDArray array, int root);

    /**
     * Gathers {@code blockBytes[r]} bytes from every rank r (this rank's are between position and limit of
     * {@code mine}) into the root's {@code rootOut}, in rank order from its position. Every rank passes the same
     * {@code blockBytes}; other ranks may pass null for {@code rootOut}.
     */
    void gather(ByteBuffer mine, ByteBuffer rootOut, int[] blockBytes, int root);

    /** Returns the root's bytes on every rank; other ranks may pass null as they do not know the length. */
    byte[] broadcastBytes(byte[] rootData, int root);

    /** Gathers one small byte array from every rank (each must fit one frame); the result is indexed by rank. */
    byte[][] allGather(byte[] mine);

    /** Returns once every rank has entered the barrier. */
    void barrier();

    /** Largest array {@link #allGather} accepts from one rank. */
    int maxGatherBytes();

    CollectiveStats stats();

    /** Releases the ring's publication, subscription and media-driver reference. Idempotent. */
    @Override
    void close();
}
