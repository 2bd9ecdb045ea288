package io.paratrain.sparktrainer.internal.stage;

import org.apache.spark.ExceptionFailure;
import org.apache.spark.TaskFailedReason;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.scheduler.SparkListenerTaskStart;

import io.paratrain.gradientsharing.exceptions.PeerFailedException;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Records why the tasks of one job group failed. Spark's error for an aborted barrier stage says only that "a
 * barrier task finished unsuccessfully"; the task's own exception (say, the coordinator's timeout naming the silent
 * shard) reaches the driver as a listener event, asynchronously. Register before the job, {@link #close} after.
 * <p>
 * When one rank fails, the others fail soon after: told by the ring (a {@link PeerFailedException} naming the
 * failed rank) or killed by Spark. Which event the driver sees first is a race, so {@link #failures} waits until a
 * task's own error is in (or every task of the failed attempt ended) and puts the root causes first: a task's own
 * error, then errors reported by peers, then tasks killed or lost.
 */
public final class StageFailures extends SparkListener implements AutoCloseable
{
    private static final String JOB_GROUP = "spark.jobGroup.id";

    private final JavaSparkContext sc;
    private final String jobGroup;
    private final Set<Integer> stages = ConcurrentHashMap.newKeySet();
    private final AtomicInteger tasksStarted = new AtomicInteger();
    private final List<Failure> failures = new ArrayList<>();
    /** Ended tasks (any reason) by stage and attempt, "stage.attempt". */
    private final Map<String, Integer> endedByAttempt = new HashMap<>();

    /** One failed task: its text, how likely it is the root cause (0 = its own error), its error if Spark kept it. */
    private record Failure(String attempt, String text, int rank, Throwable error)
    {
    }

    /**
     * The failed attempt's task errors, root causes first, and the first task's own exception as the driver
     * deserialized it (null when there is none or it could not be read).
     */
    public record Report(List<String> reasons, Throwable rootError)
    {
    }

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
    public void onTaskStart(final SparkListenerTaskStart taskStart)
    {
        if (stages.contains(taskStart.stageId()))
        {
            tasksStarted.incrementAndGet();
        }
    }

    /**
     * Whether any task of the job group started: a job that fails before (say, a task closure Spark cannot
     * serialize) failed on the driver, and no task error will come.
     */
    public boolean anyTaskStarted()
    {
        return tasksStarted.get() > 0;
    }

    @Override
    public void onTaskEnd(final SparkListenerTaskEnd taskEnd)
    {
        if (!stages.contains(taskEnd.stageId()))
        {
            return;
        }
        final String attempt = taskEnd.stageId() + "." + taskEnd.stageAttemptId();
        synchronized (failures)
        {
            endedByAttempt.merge(attempt, 1, Integer::sum);
            if (taskEnd.reason() instanceof TaskFailedReason failed)
            {
                final String text = failed instanceof ExceptionFailure exception
                    ? exception.className() + ": " + exception.description() : failed.toErrorString();
                final Throwable error = failed instanceof ExceptionFailure exception ?
                    exception.exception().getOrElse(() -> null) : null;
                failures.add(new Failure(attempt, "task " + taskEnd.taskInfo().index() + ": " + firstLine(text),
                    rootCauseRank(failed, error), error));
            }
            failures.notifyAll();
        }
    }

    /**
     * The failures of the first failed stage attempt, root causes first. Waits up to {@code waitMs} (events arrive
     * late) until one task's own error is in, or all {@code tasks} tasks of that attempt ended.
     */
    public Report failures(final long waitMs, final int tasks) throws InterruptedException
    {
        final long deadlineNs = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(waitMs);
        synchronized (failures)
        {
            while (!settled(tasks))
            {
                final long leftMs = TimeUnit.NANOSECONDS.toMillis(deadlineNs - System.nanoTime());
                if (leftMs <= 0)
                {
                    break;
                }
                failures.wait(leftMs);
            }
            if (failures.isEmpty())
            {
                return new Report(List.of(), null);
            }
            final String attempt = failures.get(0).attempt();
            final List<Failure> ordered = failures.stream().filter(f -> f.attempt().equals(attempt))
                .sorted(Comparator.comparingInt(Failure::rank)).toList();
            return new Report(ordered.stream().map(Failure::text).toList(),
                ordered.get(0).rank() == 0 ? ordered.get(0).error() : null);
        }
    }

    /** Called holding the lock: a task's own error is in, or every task of the first failed attempt ended. */
    private boolean settled(final int tasks)
    {
        if (failures.isEmpty())
        {
            return false;
        }
        final String attempt = failures.get(0).attempt();
        return endedByAttempt.get(attempt) >= tasks ||
            failures.stream().anyMatch(f -> f.rank() == 0 && f.attempt().equals(attempt));
    }

    /**
     * 0: the task's own error; 1: a peer told it another rank failed (a {@link PeerFailedException} among the
     * causes of the error Spark brought back); 2: killed, lost or anything else.
     */
    private static int rootCauseRank(final TaskFailedReason failed, final Throwable error)
    {
        if (!(failed instanceof ExceptionFailure))
        {
            return 2;
        }
        for (Throwable cause = error; cause != null; cause = cause.getCause())
        {
            if (cause instanceof PeerFailedException)
            {
                return 1;
            }
        }
        return 0;
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
