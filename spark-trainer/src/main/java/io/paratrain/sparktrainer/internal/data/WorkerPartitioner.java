package io.paratrain.sparktrainer.internal.data;

import org.apache.spark.Partitioner;

/**
 * Routes a key that is a run's first global example index to the partition of the replica that the plan gives it
 * to, so partition r holds replica r's examples (partitions beyond the plan's workers stay empty).
 */
public final class WorkerPartitioner extends Partitioner
{
    private final ExamplePlan plan;
    private final int partitions;

    public WorkerPartitioner(final ExamplePlan plan, final int partitions)
    {
        this.plan = plan;
        this.partitions = partitions;
    }

    @Override
    public int numPartitions()
    {
        return partitions;
    }

    @Override
    public int getPartition(final Object key)
    {
        return plan.workerOf((Long)key);
    }

    @Override
    public boolean equals(final Object other)
    {
        return other instanceof WorkerPartitioner p && p.plan.equals(plan) && p.partitions == partitions;
    }

    @Override
    public int hashCode()
    {
        return plan.hashCode() * 31 + partitions;
    }
}
