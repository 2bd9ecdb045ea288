package io.paratrain.sparktrainer;

import io.paratrain.sparktrainer.internal.stage.PromptAllGather;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.rdd.RDD;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import scala.Function1;
import scala.collection.JavaConverters;
import scala.reflect.ClassTag;
import scala.reflect.ClassTag$;

import java.io.Serializable;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The barrier allGather without Spark's polling tick returns every task's message in partition order, several
 * times in a row (barrier epochs stay in step), and leaves no interrupt behind on the task thread.
 */
@Timeout(120)
class PromptAllGatherTest
{
    @RegisterExtension
    static final LocalSpark SPARK = new LocalSpark(3);

    @Test
    void everyTaskGetsEveryMessageInOrderAndNoInterruptLeaks()
    {
        final ClassTag<String> tag = ClassTag$.MODULE$.apply(String.class);
        final Function1<scala.collection.Iterator<Integer>, scala.collection.Iterator<String>> body =
            (Function1<scala.collection.Iterator<Integer>, scala.collection.Iterator<String>> & Serializable)
                partition -> JavaConverters.asScalaIterator(List.of(gatherThreeTimes()).iterator());
        final RDD<String> results = SPARK.sc().parallelize(List.of(0, 1, 2), 3).rdd().barrier()
            .mapPartitions(body, false, tag);
        final List<String> perTask = new JavaRDD<>(results, tag).collect();
        assertEquals(List.of(
            "rank 0: [a0, a1, a2] [b0, b1, b2] [c0, c1, c2] interrupted=false",
            "rank 1: [a0, a1, a2] [b0, b1, b2] [c0, c1, c2] interrupted=false",
            "rank 2: [a0, a1, a2] [b0, b1, b2] [c0, c1, c2] interrupted=false"), perTask);
    }

    private static String gatherThreeTimes()
    {
        final BarrierTaskContext context = BarrierTaskContext.get();
        final int rank = context.partitionId();
        final StringBuilder seen = new StringBuilder("rank " + rank + ":");
        for (final String round : List.of("a", "b", "c"))
        {
            seen.append(' ').append(List.of(PromptAllGather.allGather(context, round + rank)));
        }
        return seen.append(" interrupted=").append(Thread.currentThread().isInterrupted()).toString();
    }
}
