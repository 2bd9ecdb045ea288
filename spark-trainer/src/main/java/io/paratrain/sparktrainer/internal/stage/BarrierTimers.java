package io.paratrain.sparktrainer.internal.stage;

import org.apache.spark.SparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerApplicationEnd;
import org.apache.spark.scheduler.TaskScheduler;
import org.apache.spark.scheduler.TaskSchedulerImpl;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.reflect.ClassTag$;

import java.lang.reflect.Field;
import java.util.Timer;

/**
 * Lets the user's JVM exit after {@code sc.stop()} although Spark 3.5's barrier stages leave two non-daemon
 * {@link Timer} threads behind, which no public API ends:
 * <ul>
 * <li>"BarrierCoordinator barrier epoch increment timer": a field of the driver's {@code BarrierCoordinator}
 *     (one per SparkContext, created at the first {@code barrier()}/{@code allGather()}); its {@code onStop}
 *     clears the pending timeouts but never cancels the timer.</li>
 * <li>"Barrier task timer for barrier() calls.": a field of the {@code BarrierTaskContext} companion object, one
 *     per JVM, created when a barrier task first runs in it. On executors the JVM ends with {@code System.exit};
 *     in local mode the tasks run in the driver's JVM, so it stays there.</li>
 * </ul>
 * A plain Spark barrier program without Paratrain hangs the same way. {@link #releaseWhenStopped} registers, once
 * per SparkContext, a listener that acts when the application ends (no barrier stage of that context can start any
 * more): it cancels the coordinator's timer, and replaces the companion object's timer by a daemon one of the same
 * name before cancelling the old one. Replaced, not cancelled: the field is JVM-wide, and a SparkContext created
 * later in the same JVM schedules its 60 s "still waiting" log lines on it; a cancelled timer would fail those
 * barrier calls. Spark's behaviour is otherwise unchanged. Both are private fields, reached by reflection; on a
 * Spark without them (4.x uses daemon executors) nothing is done.
 */
public final class BarrierTimers extends SparkListener
{
    private static final Logger LOG = LoggerFactory.getLogger(BarrierTimers.class);
    private static final String COORDINATOR_TIMER = "org$apache$spark$BarrierCoordinator$$timer";
    private static final String TASK_CONTEXT_OBJECT = "org.apache.spark.BarrierTaskContext$";
    private static final String TASK_CONTEXT_TIMER = "org$apache$spark$BarrierTaskContext$$timer";
    private static final String TASK_CONTEXT_TIMER_THREAD = "Barrier task timer for barrier() calls.";

    private final SparkContext sc;

    private BarrierTimers(final SparkContext sc)
    {
        this.sc = sc;
    }

    /** Registers the listener on {@code sc} unless it is there already; cheap, so every fit calls it. */
    public static void releaseWhenStopped(final SparkContext sc)
    {
        synchronized (BarrierTimers.class)
        {
            if (sc.listenerBus().findListenersByClass(ClassTag$.MODULE$.apply(BarrierTimers.class)).isEmpty())
            {
                sc.addSparkListener(new BarrierTimers(sc));
            }
        }
    }

    @Override
    public void onApplicationEnd(final SparkListenerApplicationEnd applicationEnd)
    {
        // Delivered while sc.stop() drains the listener bus: the task scheduler (and its coordinator) is stopping
        // or stopped but still reachable; it is dropped only after the bus has stopped.
        cancelCoordinatorTimer();
        replaceTaskContextTimer();
    }

    private void cancelCoordinatorTimer()
    {
        final TaskScheduler scheduler = sc.taskScheduler();
        if (!(scheduler instanceof TaskSchedulerImpl impl) || impl.barrierCoordinator() == null)
        {
            return; // no barrier stage ran, or not the scheduler Spark's cluster managers use
        }
        final Object coordinator = impl.barrierCoordinator();
        try
        {
            // The lazy val's field, not its accessor: the accessor would create the timer if no barrier call had.
            final Field field = coordinator.getClass().getDeclaredField(COORDINATOR_TIMER);
            field.setAccessible(true);
            if (field.get(coordinator) instanceof Timer timer)
            {
                timer.cancel();
                LOG.debug("Cancelled the stopped BarrierCoordinator's timer");
            }
        }
        catch (final ReflectiveOperationException | RuntimeException ex)
        {
            LOG.warn("Cannot cancel Spark's BarrierCoordinator timer ({}): its non-daemon thread may keep this JVM " +
                "alive after the SparkContext stopped", ex.toString());
        }
    }

    private static void replaceTaskContextTimer()
    {
        // Only when the companion object has made its timer in this JVM: touching the object would create it.
        if (!nonDaemonThreadAlive(TASK_CONTEXT_TIMER_THREAD))
        {
            return;
        }
        try
        {
            final Class<?> type = Class.forName(TASK_CONTEXT_OBJECT, false, BarrierTimers.class.getClassLoader());
            final Object companion = type.getField("MODULE$").get(null);
            final Field field = type.getDeclaredField(TASK_CONTEXT_TIMER);
            field.setAccessible(true);
            synchronized (BarrierTimers.class)
            {
                if (field.get(companion) instanceof Timer old && !(old instanceof DaemonTimer))
                {
                    field.set(companion, new DaemonTimer(TASK_CONTEXT_TIMER_THREAD));
                    old.cancel();
                    LOG.debug("Replaced BarrierTaskContext's non-daemon timer by a daemon one");
                }
            }
        }
        catch (final ReflectiveOperationException | RuntimeException ex)
        {
            LOG.warn("Cannot replace Spark's BarrierTaskContext timer ({}): its non-daemon thread may keep this JVM " +
                "alive after the SparkContext stopped", ex.toString());
        }
    }

    private static boolean nonDaemonThreadAlive(final String name)
    {
        return Thread.getAllStackTraces().keySet().stream()
            .anyMatch(thread -> name.equals(thread.getName()) && !thread.isDaemon() && thread.isAlive());
    }

    /** Spark's timer with a daemon thread: it only logs a line every 60 s while a barrier call waits. */
    private static final class DaemonTimer extends Timer
    {
        DaemonTimer(final String name)
        {
            super(name, true);
        }
    }
}
