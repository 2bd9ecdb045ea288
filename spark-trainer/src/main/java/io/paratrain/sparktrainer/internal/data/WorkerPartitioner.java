package io.paratrain.sparktrainer.internal.data;

import org.apache.spark.Partitioner;

/** Routes a key that is a replica's rank to partition = rank, so partition r holds replica r's examples. */
public final class WorkerPartitioner extends Partitioner
{
    private final int workers;

    public WorkerPartitioner(final int workers)
    {
        this.workers = workers;
    }

    @Override
    public int numPartitions()
    {
        return workers;
    }

    @Override
    public int getPartition(final Object key)
    {
        return (Integer)key;
    }

    @Override
    public boolean equals(final Object other)
    {
        return other instanceof WorkerPartitioner p && p.workers == workers;
    }

    @Override
    public int hashCode()
    {
        return workers;
    }
}
