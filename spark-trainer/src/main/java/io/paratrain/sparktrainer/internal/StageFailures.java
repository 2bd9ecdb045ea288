package io.paratrain.sparktrainer.internal;

import org.apache.spark.ExceptionFailure;
import org.apache.spark.TaskFailedReason;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.scheduler.SparkListenerTaskEnd;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Records why the tasks of one job group failed. Spark's error for an aborted barrier stage says only that "a
 * barrier task finished unsuccessfully"; the task's own exception (say, the coordinator's timeout naming the silent
 * shard) reaches the driver as a listener event, asynchronously. Register before the job, {@link #close} after.
 */
public final class StageFailures extends SparkListener implements AutoCloseable
{
    private static final String JOB_GROUP = "spark.jobGroup.id";

    private final JavaSparkContext sc;
    private final String jobGroup;
    private final Set<Integer> stages = ConcurrentHashMap.newKeySet();
    private final List<String> failures = new ArrayList<>();

    private StageFailures(final JavaSparkContext sc, final String jobGroup)
    {
        this.sc = sc;
        this.jobGroup = jobGroup;
    }

    public static StageFailures watch(final JavaSparkContext sc, final String jobGroup)
    {
        final StageFailures listener = new StageFailures(sc, jobGroup);
        sc.sc().addSparkListener(listener);
        return listener;
    }

    @Override
    public void onJobStart(final SparkListenerJobStart jobStart)
    {
        if (jobStart.properties() != null && jobGroup.equals(jobStart.properties().getProperty(JOB_GROUP)))
        {
            for (final Object stage : scala.collection.JavaConverters.seqAsJavaList(jobStart.stageIds()))
            {
                stages.add((Integer)stage);
            }
        }
    }

    @Override
    public void onTaskEnd(final SparkListenerTaskEnd taskEnd)
    {
        if (stages.contains(taskEnd.stageId()) && taskEnd.reason() instanceof TaskFailedReason failed)
        {
            final String text = failed instanceof ExceptionFailure exception
                ? exception.className() + ": " + exception.description() : failed.toErrorString();
            synchronized (failures)
            {
                failures.add("task " + taskEnd.taskInfo().index() + ": " + firstLine(text));
                failures.notifyAll();
            }
        }
    }

    /** The failures recorded so far, waiting up to {@code waitMs} for the first one (events arrive late). */
    public List<String> failures(final long waitMs) throws InterruptedException
    {
        final long deadlineNs = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(waitMs);
        synchronized (failures)
        {
            while (failures.isEmpty())
            {
                final long leftMs = TimeUnit.NANOSECONDS.toMillis(deadlineNs - System.nanoTime());
                if (leftMs <= 0)
                {
                    break;
                }
                failures.wait(leftMs);
            }
            return List.copyOf(failures);
        }
    }

    @Override
    public void close()
    {
        sc.sc().removeSparkListener(this);
    }

    private static String firstLine(final String text)
    {
        final int end = text.indexOf('\n');
        return end < 0 ? text : text.substring(0, end);
    }
}
