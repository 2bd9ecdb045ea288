package io.paratrain.sparktrainer.internal.stage;

import io.paratrain.sparktrainer.exceptions.InsufficientSlotsException;
import org.apache.spark.SparkContext;
import org.apache.spark.api.java.JavaSparkContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.function.IntFunction;
import java.util.function.IntSupplier;

/**
 * Checks on the driver, before a barrier stage is submitted, that the cluster can run all its tasks at once.
 * <p>
 * Spark launches a barrier stage only when every task has a slot; with too few it keeps the stage pending
 * ("requires N slots, while the total number of available slots is M"), and with the default
 * {@code spark.scheduler.barrier.maxConcurrentTasksCheck.*} settings that lasts 40 x 15 s. Executors that are
 * still starting count once they register, so this waits up to a deadline for enough slots and then fails with
 * what was needed and what there is; in local mode, where no executor can come, it fails at once.
 */
public final class BarrierSlots
{
    private static final Logger LOG = LoggerFactory.getLogger(BarrierSlots.class);
    private static final long POLL_MS = 250;

    private BarrierSlots()
    {
    }

    /** Task slots of the registered executors (cores / spark.task.cpus, limited by task resources such as GPUs). */
    public static int available(final JavaSparkContext sc)
    {
        final SparkContext context = sc.sc();
        return context.maxNumConcurrentTasks(context.resourceProfileManager().defaultResourceProfile());
    }

    private static int executors(final JavaSparkContext sc)
    {
        // the driver has a block manager too (not local mode: await does not wait there)
        return Math.max(0, sc.sc().getExecutorMemoryStatus().size() - 1);
    }

    /**
     * Returns once the cluster has at least {@code tasks} slots; throws {@link InsufficientSlotsException} if it
     * still has fewer after {@code waitMs}, or at once in local mode, whose slots are fixed by the master URL
     * ({@code local[N]}: the driver's own executor, nothing can register later; {@code local-cluster[...]} is not
     * local mode and waits like a cluster).
     */
    public static void await(final JavaSparkContext sc, final int tasks, final long waitMs, final String what)
    {
        final String cpus = sc.getConf().get("spark.task.cpus", "1");
        final int slots = available(sc);
        LOG.debug("{} needs {} task slots, the cluster has {}", what, tasks, slots);
        if (slots >= tasks)
        {
            return;
        }
        if (sc.isLocal())
        {
            throw new InsufficientSlotsException(what + " needs " + tasks + " task slots at once (one barrier task " +
                "each), but Spark in local mode (master " + sc.master() + ", spark.task.cpus=" + cpus + ") has " +
                slots + " and cannot gain more: start it with more cores (local[N] with N >= " + tasks + " x " +
                "spark.task.cpus) or train with at most " + slots + " tasks");
        }
        awaitGrowth(() -> available(sc), tasks, waitMs, what, last -> what + " needs " + tasks + " task slots at " +
            "once (one barrier task each), but the cluster has " + last + " (master " + sc.master() + ", " +
            executors(sc) + " executors registered, spark.task.cpus=" + cpus + ") after waiting " + waitMs / 1000.0 +
            " s: start more executors or cores, wait longer for them (--slot-wait-seconds, the Estimator's " +
            "slotWaitSeconds, TrainerConfig.slotWaitMs), or train with fewer tasks");
    }

    /**
     * Polls {@code available} until it reaches {@code tasks}; after {@code waitMs} throws
     * {@link InsufficientSlotsException} with {@code shortage} applied to the last count.
     */
    static void awaitGrowth(final IntSupplier available, final int tasks, final long waitMs, final String what,
        final IntFunction<String> shortage)
    {
        final long deadlineNs = System.nanoTime() + waitMs * 1_000_000L;
        int slots = available.getAsInt();
        boolean logged = false;
        while (slots < tasks)
        {
            if (System.nanoTime() - deadlineNs >= 0)
            {
                throw new InsufficientSlotsException(shortage.apply(slots));
            }
            if (!logged)
            {
                LOG.info("{} needs {} task slots, the cluster has {}: waiting up to {} s for executors", what, tasks,
                    slots, waitMs / 1000.0);
                logged = true;
            }
            try
            {
                Thread.sleep(POLL_MS); // the driver polls Spark's executor registry; not a hot path
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
                throw new InsufficientSlotsException("interrupted while waiting for " + tasks + " task slots");
            }
            slots = available.getAsInt();
        }
    }
}
