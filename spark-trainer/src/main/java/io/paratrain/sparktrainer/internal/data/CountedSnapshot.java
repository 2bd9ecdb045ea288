package io.paratrain.sparktrainer.internal.data;

import io.paratrain.sparktrainer.internal.snapshot.ModelSnapshot;
import io.paratrain.sparktrainer.internal.snapshot.NetworkModel;

import org.apache.spark.api.java.JavaFutureAction;
import org.apache.spark.api.java.JavaRDD;

import java.util.List;

/**
 * The start of a fit on the driver: the model's snapshot, taken while a Spark job describes every partition of the
 * training data. Each takes 0.1-0.25 s in a fresh JVM; one after the other they added up.
 *
 * @param partitions what the job found in each partition, in partition order.
 */
public record CountedSnapshot(ModelSnapshot snapshot, List<PartitionShape> partitions)
{
    /**
     * The counting job is cancelled when the snapshot fails (say, the network is not initialised).
     *
     * @param batchShapes the {@link BatchShapes} of the training data's MultiDataSets, partition for partition.
     */
    public static CountedSnapshot take(final NetworkModel network, final JavaRDD<long[]> batchShapes)
    {
        final JavaFutureAction<List<long[]>> counting = ExampleRouting.describePartitionsAsync(batchShapes);
        final ModelSnapshot snapshot;
        try
        {
            snapshot = ModelSnapshot.of(network, null);
        }
        catch (final RuntimeException ex)
        {
            counting.cancel(true);
            throw ex;
        }
        return new CountedSnapshot(snapshot, ExampleRouting.await(counting).stream().map(PartitionShape::fromLongs)
            .toList());
    }

    /** Examples in each partition. */
    public long[] counts()
    {
        return ExampleRouting.counts(partitions);
    }
}
