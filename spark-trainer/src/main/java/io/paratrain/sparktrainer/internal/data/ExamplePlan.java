package io.paratrain.sparktrainer.internal.data;

import java.io.Serializable;

/**
 * Which replica trains on which example at which step, so that N replicas with batch b per step reproduce
 * single-process training with batch N x b on the same data in the same order.
 * <p>
 * Example i (0-based, in RDD order) belongs to global step s = i / B of every epoch, B = N x b. The step's
 * r = min(B, T - sB) examples are cut into N contiguous slices whose sizes differ by at most one (the first
 * r mod N replicas take one more): full steps give each replica exactly b; the last step may be smaller, and only
 * when r < N does a replica get none. Every example is used once per epoch; none is dropped.
 */
public record ExamplePlan(long totalExamples, int workers, int batchSizePerWorker) implements Serializable
{
    public long globalBatchSize()
    {
        return (long)workers * batchSizePerWorker;
    }

    public int stepsPerEpoch()
    {
        return (int)((totalExamples + globalBatchSize() - 1) / globalBatchSize());
    }

    /** Examples in step {@code step} over all replicas. */
    public int stepExamples(final int step)
    {
        return (int)Math.min(globalBatchSize(), totalExamples - step * globalBatchSize());
    }

    public int stepOf(final long index)
    {
        return (int)(index / globalBatchSize());
    }

    /** The replica that trains on example {@code index}. */
    public int workerOf(final long index)
    {
        final int step = stepOf(index);
        final int position = (int)(index - step * globalBatchSize());
        final int examples = stepExamples(step);
        final int base = examples / workers;
        final int extra = examples % workers;
        final int bigSlices = extra * (base + 1);
        return position < bigSlices ? position / (base + 1) : extra + (position - bigSlices) / base;
    }

    /**
     * One past the last example (global index) that the replica of example {@code index} trains on in that
     * example's step: examples {@code index .. runEnd(index) - 1} go to the same replica and step.
     */
    public long runEnd(final long index)
    {
        final int step = stepOf(index);
        final int worker = workerOf(index);
        long end = step * globalBatchSize();
        for (int w = 0; w <= worker; w++)
        {
            end += localExamples(step, w);
        }
        return end;
    }

    /** How many examples replica {@code worker} trains on in step {@code step}. */
    public int localExamples(final int step, final int worker)
    {
        final int examples = stepExamples(step);
        return examples / workers + (worker < examples % workers ? 1 : 0);
    }
}
