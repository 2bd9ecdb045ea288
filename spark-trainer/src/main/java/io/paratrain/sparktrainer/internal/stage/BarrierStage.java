package io.paratrain.sparktrainer.internal.stage;

import io.paratrain.sparktrainer.exceptions.TrainerException;
import org.apache.spark.SparkException;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.rdd.RDD;
import scala.Function1;
import scala.collection.JavaConverters;
import scala.reflect.ClassTag;
import scala.reflect.ClassTag$;

import java.io.Serializable;
import java.util.Iterator;
import java.util.List;
import java.util.function.BiFunction;

/**
 * Runs one barrier stage of a fit in its own job group and turns its failure into the tasks' own errors. Results
 * travel as bytes the fit encodes itself (see {@code ShippedBytes}): Spark may serialize with Kryo, which fails on
 * records.
 */
public final class BarrierStage
{
    private static final String JOB_GROUP = "spark.jobGroup.id";
    private static final String JOB_DESCRIPTION = "spark.job.description";
    private static final String JOB_INTERRUPT = "spark.job.interruptOnCancel";
    /** How long the driver waits for a task's own error (listener events) after the stage failed. */
    private static final long FAILURE_EVENT_WAIT_MS = 2_000;

    private final JavaSparkContext sc;
    private final String jobGroup;
    private final String description;
    private final boolean retryable;
    private final int tasks;

    /** The body of a barrier task over partitions of {@code T}; serializable, as Spark ships it. */
    public interface TaskBody<T> extends Serializable
    {
        Iterator<byte[]> run(Iterator<T> partition);
    }

    /**
     * @param retryable whether Spark may re-run the whole stage when one of its tasks fails (the fit resumes from
     *                  its newest checkpoint then).
     */
    public BarrierStage(final JavaSparkContext sc, final String jobGroup, final String description,
        final boolean retryable, final int tasks)
    {
        this.sc = sc;
        this.jobGroup = jobGroup;
        this.description = description;
        this.retryable = retryable;
        this.tasks = tasks;
    }

    /** The tasks' results, in partition order; the caller's job group and description are restored after. */
    public <T> List<byte[]> run(final RDD<T> input, final TaskBody<T> task) throws Failed
    {
        final String[] callerGroup = {sc.getLocalProperty(JOB_GROUP), sc.getLocalProperty(JOB_DESCRIPTION),
            sc.getLocalProperty(JOB_INTERRUPT)};
        try (StageFailures failures = StageFailures.watch(sc, jobGroup))
        {
            // interruptOnCancel: when the stage is aborted, Spark interrupts its other tasks.
            sc.setJobGroup(jobGroup, description, true);
            try
            {
                return collect(input, task);
            }
            catch (final Exception ex) // a task failure arrives as the checked SparkException
            {
                if (!(ex instanceof SparkException sparkError))
                {
                    throw (RuntimeException)ex;
                }
                if (!failures.anyTaskStarted())
                {
                    throw new TrainerException("the barrier stage (" + description + ") did not start: " +
                        sparkError.getMessage(), sparkError);
                }
                throw new Failed(report(failures), sparkError);
            }
        }
        finally
        {
            sc.setLocalProperty(JOB_GROUP, callerGroup[0]);
            sc.setLocalProperty(JOB_DESCRIPTION, callerGroup[1]);
            sc.setLocalProperty(JOB_INTERRUPT, callerGroup[2]);
        }
    }

    private <T> List<byte[]> collect(final RDD<T> input, final TaskBody<T> task)
    {
        final ClassTag<byte[]> tag = ClassTag$.MODULE$.apply(byte[].class);
        final Function1<scala.collection.Iterator<T>, scala.collection.Iterator<byte[]>> body =
            (Function1<scala.collection.Iterator<T>, scala.collection.Iterator<byte[]>> & Serializable)
            partition -> JavaConverters.asScalaIterator(task.run(JavaConverters.asJavaIterator(partition)));
        final RDD<byte[]> results = input.barrier().mapPartitions(body, false, tag);
        // A shuffle after the barrier stage makes it a ShuffleMapStage, which Spark re-runs as a whole when one of
        // its tasks fails (up to spark.stage.maxConsecutiveAttempts); a failed barrier ResultStage aborts the job.
        return retryable ? new JavaRDD<>(results, tag).repartition(1).collect() :
            new JavaRDD<>(results, tag).collect();
    }

    private StageFailures.Report report(final StageFailures failures)
    {
        try
        {
            return failures.failures(FAILURE_EVENT_WAIT_MS, tasks);
        }
        catch (final InterruptedException interrupted)
        {
            Thread.currentThread().interrupt();
            return new StageFailures.Report(List.of(), null);
        }
    }

    /** The stage failed: the tasks' own errors (root causes first) and Spark's error. */
    public static final class Failed extends Exception
    {
        private final StageFailures.Report report;
        private final SparkException sparkError;

        Failed(final StageFailures.Report report, final SparkException sparkError)
        {
            super(sparkError.getMessage(), sparkError, false, false);
            this.report = report;
            this.sparkError = sparkError;
        }

        /**
         * The error for the caller: a task's own error of a specific {@link TrainerException} type as it was thrown
         * (bad input, diverged replicas, an unusable checkpoint: the caller catches the type, no message to parse),
         * else {@code typed}'s error built from every task's reason, root causes first.
         */
        public RuntimeException rethrow(final BiFunction<String, Throwable, RuntimeException> typed)
        {
            if (report.rootError() instanceof TrainerException own && own.getClass() != TrainerException.class)
            {
                own.addSuppressed(sparkError);
                return own;
            }
            return typed.apply(report.reasons().isEmpty()
                ? sparkError.getMessage() + " (no task error reported within " + FAILURE_EVENT_WAIT_MS + " ms)"
                : String.join("; ", report.reasons()), sparkError);
        }
    }
}
