package io.paratrain.sparktrainer.internal.data;

import org.apache.spark.Dependency;
import org.apache.spark.ShuffleDependency;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.rdd.RDD;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import scala.collection.JavaConverters;

import java.util.Arrays;
import java.util.List;

/** Whether the ranks can take their examples straight from the data's own partitions over the ring. */
public final class DirectInput
{
    private DirectInput()
    {
    }

    /**
     * The {@link ExampleLayout} of every MultiDataSet when the ranks can take their examples straight from the data's
     * own partitions over the ring ({@link ExampleExchange}): one partition per rank, one layout of FLOAT arrays
     * (any rank, masks included), at most {@link ExampleExchange#MAX_DIRECT_BYTES}; null when the examples go
     * through a Spark shuffle instead (also time series of different lengths, which the shuffle's receiving side
     * pads).
     */
    public static long[] layout(final JavaRDD<MultiDataSet> data, final List<PartitionShape> partitions,
        final long total, final int ranks)
    {
        if (!samePartitionsWithinStage(data.rdd(), ranks))
        {
            return null;
        }
        final long[] layout = PartitionShape.commonLayout(partitions);
        if (layout == null)
        {
            return null;
        }
        final long rowFloats = Arrays.stream(ExampleLayout.exampleElements(layout)).sum();
        return rowFloats <= Integer.MAX_VALUE / Float.BYTES && total * rowFloats * Float.BYTES <=
            ExampleExchange.MAX_DIRECT_BYTES ? layout : null;
    }

    /**
     * Whether {@code rdd} and every RDD it derives from within its stage (up to a shuffle) have {@code partitions}
     * partitions: Spark refuses a barrier stage over anything else (say, a coalesce or union).
     */
    private static boolean samePartitionsWithinStage(final RDD<?> rdd, final int partitions)
    {
        if (rdd.getNumPartitions() != partitions)
        {
            return false;
        }
        for (final Dependency<?> dependency : JavaConverters.seqAsJavaList(rdd.dependencies()))
        {
            if (!(dependency instanceof ShuffleDependency<?, ?, ?>) &&
                !samePartitionsWithinStage(dependency.rdd(), partitions))
            {
                return false;
            }
        }
        return true;
    }
}
