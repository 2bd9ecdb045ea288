package io.paratrain.benchmarks;

/**
 * Bytes a data-parallel step ({@code ReplicaStep}) sends, summed over the N ranks: a ring all-reduce of the P
 * gradient floats and one of the 1-float loss sum. The ring cuts n floats into N segments s of n_s floats
 * (sizes differ by at most one) and runs 2(N-1) steps in each of which every segment crosses one link, in frames of
 * at most C floats with an h-byte header (an empty segment still sends one frame):
 * <pre>
 *   allReduce(n) = 2(N-1) sum_s (4 n_s + h max(1, ceil(n_s / C)))
 *   step         = allReduce(P) + allReduce(1)
 * </pre>
 */
final class AllReduceTraffic
{
    private AllReduceTraffic()
    {
    }

    static long perStep(final int ranks, final long parameters, final int chunkFloats, final int frameHeaderBytes)
    {
        return allReduce(ranks, parameters, chunkFloats, frameHeaderBytes)
            + allReduce(ranks, 1, chunkFloats, frameHeaderBytes);
    }

    static long allReduce(final int ranks, final long floats, final int chunkFloats, final int frameHeaderBytes)
    {
        long perPass = 0;
        for (int s = 0; s < ranks; s++)
        {
            final long length = floats / ranks + (s < floats % ranks ? 1 : 0);
            perPass += 4 * length + (long)frameHeaderBytes * Math.max(1, (length + chunkFloats - 1) / chunkFloats);
        }
        return 2L * (ranks - 1) * perPass;
    }
}
