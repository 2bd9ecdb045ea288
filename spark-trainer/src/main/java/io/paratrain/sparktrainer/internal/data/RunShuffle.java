package io.paratrain.sparktrainer.internal.data;

import org.apache.spark.Partitioner;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.rdd.ShuffledRDD;
import org.apache.spark.serializer.JavaSerializer;
import scala.Tuple2;
import scala.reflect.ClassTag;
import scala.reflect.ClassTag$;

/**
 * The shuffle that takes the encoded runs, keyed by first global index, to their replicas' partitions. Unsorted: the
 * receiving replica orders them itself ({@link RunSink}), as it holds or spills them; Spark's reduce-side sorter
 * would buffer them on the heap first (with runs of 2 MB, G1 gives each three 1 MB regions, and a 256 MB executor ran
 * out of heap sorting them).
 * <p>
 * It has a serializer of its own: Java serialization that forgets every record once written
 * ({@code spark.serializer.objectStreamReset=1}). A Java object stream keeps every object it wrote until it is reset
 * (by default every 100 records, so that repeated objects are written once); with runs of megabytes that held 100
 * runs per map task and ran a 256 MB executor out of heap. The records are a Long and a byte array, which Java
 * serialization writes as they are, so nothing depends on the application's {@code spark.serializer} (as for
 * everything else a fit hands to Spark).
 */
final class RunShuffle
{
    private RunShuffle()
    {
    }

    static JavaRDD<Tuple2<Long, byte[]>> of(final JavaRDD<Tuple2<Long, byte[]>> runs, final Partitioner partitioner,
        final SparkConf conf)
    {
        final ClassTag<Long> longTag = ClassTag$.MODULE$.apply(Long.class);
        final ClassTag<byte[]> bytesTag = ClassTag$.MODULE$.apply(byte[].class);
        final ShuffledRDD<Long, byte[], byte[]> shuffled = new ShuffledRDD<Long, byte[], byte[]>(
            runs.rdd(), partitioner, longTag, bytesTag, bytesTag)
            .setSerializer(new JavaSerializer(conf.clone().set("spark.serializer.objectStreamReset", "1")));
        return new JavaRDD<>(shuffled, ClassTag$.MODULE$.apply(Tuple2.class));
    }
}
