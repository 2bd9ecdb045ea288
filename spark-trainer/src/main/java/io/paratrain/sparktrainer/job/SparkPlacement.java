package io.paratrain.sparktrainer.job;

import io.paratrain.sparktrainer.internal.BarrierSlots;
import org.apache.spark.SparkEnv;
import org.apache.spark.api.java.JavaSparkContext;
import scala.collection.JavaConverters;

import java.util.List;
import java.util.Locale;

/**
 * The line the job prints at start: which Spark master it runs on and which executors the fit can use. Without a
 * master from spark-submit or --master the job runs Spark in its own JVM (local mode), which a user reading a
 * cluster's UI would otherwise not notice.
 */
final class SparkPlacement
{
    private SparkPlacement()
    {
    }

    static String describe(final JavaSparkContext sc)
    {
        final int slots = BarrierSlots.available(sc);
        if (sc.isLocal())
        {
            return String.format(Locale.ROOT, "spark: master %s: local mode, every task runs in this JVM (%d task " +
                "slots); give spark-submit --master or --master to train on a cluster", sc.master(), slots);
        }
        final String driver = SparkEnv.get().blockManager().blockManagerId().hostPort();
        final List<String> executors = JavaConverters.asJavaCollection(sc.sc().getExecutorMemoryStatus().keySet())
            .stream().filter(hostPort -> !hostPort.equals(driver)).sorted().toList();
        return String.format(Locale.ROOT, "spark: master %s, %d executor(s) %s, %d task slots", sc.master(),
            executors.size(), executors, slots);
    }
}
