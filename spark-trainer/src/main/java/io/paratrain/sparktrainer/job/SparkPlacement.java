package io.paratrain.sparktrainer.job;

import io.paratrain.sparktrainer.internal.stage.BarrierSlots;
import org.apache.spark.api.java.JavaSparkContext;
import scala.collection.JavaConverters;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
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
        // The scheduler's executor ids (what the slot count is made of: block managers register later), with their
        // addresses as far as the status store has them yet.
        final Map<String, String> addresses = new HashMap<>();
        JavaConverters.seqAsJavaList(sc.sc().statusStore().executorList(true))
            .forEach(executor -> addresses.put(executor.id(), executor.hostPort()));
        final List<String> executors = JavaConverters.seqAsJavaList(sc.sc().getExecutorIds()).stream().sorted()
            .map(id -> addresses.containsKey(id) ? id + " on " + addresses.get(id) : id).toList();
        return String.format(Locale.ROOT, "spark: master %s, %d executors (%s), %d task slots", sc.master(),
            executors.size(), String.join(", ", executors), slots);
    }
}
