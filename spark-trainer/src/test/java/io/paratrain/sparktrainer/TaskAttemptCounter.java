package io.paratrain.sparktrainer;

import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * Test listener for contexts a test cannot reach (the job starts its own): given as
 * {@code spark.extraListeners}, it counts the task attempts that ended and those that failed, JVM-wide.
 */
public final class TaskAttemptCounter extends SparkListener
{
    public static final AtomicInteger ENDED = new AtomicInteger();
    public static final AtomicInteger FAILED = new AtomicInteger();

    public static void reset()
    {
        ENDED.set(0);
        FAILED.set(0);
    }

    @Override
    public void onTaskEnd(final SparkListenerTaskEnd taskEnd)
    {
        ENDED.incrementAndGet();
        if (!taskEnd.taskInfo().successful())
        {
            FAILED.incrementAndGet();
        }
    }
}
