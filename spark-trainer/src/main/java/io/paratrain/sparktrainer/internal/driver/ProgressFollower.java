package io.paratrain.sparktrainer.internal.driver;

import io.paratrain.sparktrainer.StepMetrics;
import io.paratrain.sparktrainer.TrainingListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Arrays;
import java.util.List;

/**
 * The driver's view of a fit's progress across stage attempts, handed to the listeners one event at a time.
 * <ul>
 * <li>Only the newest stage attempt is followed: once an attempt has spoken, lines of older ones (a failed attempt's
 * rank 0 that has not stopped yet) are dropped.</li>
 * <li>A retried attempt resumes from a checkpoint and reports the steps from there again: the listeners first get
 * {@link TrainingListener#onRewind} for that step, then the resumed attempt's values, so each step is reported
 * once in the end.</li>
 * <li>An epoch's mean loss covers all its steps: the ones before the checkpoint come from the failed attempt (a resume
 * is exact, so they are what the resumed attempt would have computed), the rest from the resumed one. The task's own
 * mean covers only the steps its attempt ran; it is used only when the driver missed some of the epoch's steps.</li>
 * </ul>
 * The losses are kept by global step (8 bytes a step) for that.
 */
public final class ProgressFollower
{
    private static final Logger LOG = LoggerFactory.getLogger(ProgressFollower.class);

    private final List<TrainingListener> listeners;
    private int newestAttempt = -1;
    private double[] losses = new double[256];
    /** Steps reported so far (the next global step expected), after rewinds. */
    private long reported;
    private int stepsPerEpoch;
    private long droppedLines;

    public ProgressFollower(final List<TrainingListener> listeners)
    {
        this.listeners = List.copyOf(listeners);
    }

    /**
     * Stage attempt {@code attempt} spoke. Returns false if a newer one already did (its lines are to be dropped);
     * the first line of a newer attempt makes it the one followed.
     */
    public synchronized boolean follows(final int attempt)
    {
        if (attempt < newestAttempt)
        {
            droppedLines++;
            return false;
        }
        if (attempt > newestAttempt)
        {
            if (newestAttempt >= 0)
            {
                LOG.info("Progress follows stage attempt {} now ({} line(s) of older attempts dropped so far)",
                    attempt, droppedLines);
            }
            newestAttempt = attempt;
        }
        return true;
    }

    public synchronized void step(final int attempt, final StepMetrics metrics)
    {
        if (!follows(attempt))
        {
            return;
        }
        final long global = metrics.globalStep();
        if (global < reported)
        {
            LOG.info("Stage attempt {} resumed at epoch {}, step {} (global step {}); {} step(s) reported by the " +
                "failed attempt from there are replaced", attempt, metrics.epoch(), metrics.step(), global,
                reported - global);
            listeners.forEach(listener -> listener.onRewind(metrics.epoch(), metrics.step(), global));
        }
        record(global, metrics.loss());
        stepsPerEpoch = metrics.stepsPerEpoch();
        listeners.forEach(listener -> listener.onStep(metrics));
    }

    /** {@code attemptMeanLoss} covers the steps of the epoch that the attempt ran. */
    public synchronized void epochEnd(final int attempt, final int epoch, final double attemptMeanLoss,
        final double samplesPerSecond)
    {
        if (!follows(attempt))
        {
            return;
        }
        final double mean = epochMean(epoch, attemptMeanLoss);
        listeners.forEach(listener -> listener.onEpochEnd(epoch, mean, samplesPerSecond));
    }

    private void record(final long global, final double loss)
    {
        if (global >= Integer.MAX_VALUE)
        {
            reported = global + 1; // beyond what is kept: epoch means come from the task
            return;
        }
        if (global >= losses.length)
        {
            final int from = losses.length;
            losses = Arrays.copyOf(losses, (int)Math.min(Integer.MAX_VALUE - 8, Math.max(2L * losses.length,
                global + 1)));
            Arrays.fill(losses, from, losses.length, Double.NaN);
        }
        if (global > reported)
        {
            Arrays.fill(losses, (int)Math.min(reported, global), (int)global, Double.NaN); // lines never received
        }
        losses[(int)global] = loss;
        reported = global + 1;
    }

    /** Mean over every step of {@code epoch} in step order, or the attempt's own mean if any step is missing. */
    private double epochMean(final int epoch, final double attemptMeanLoss)
    {
        final long first = (long)epoch * stepsPerEpoch;
        final long end = first + stepsPerEpoch;
        if (stepsPerEpoch == 0 || end > reported || end > losses.length)
        {
            return attemptMeanLoss;
        }
        double sum = 0;
        for (long global = first; global < end; global++)
        {
            final double loss = losses[(int)global];
            if (Double.isNaN(loss))
            {
                return attemptMeanLoss;
            }
            sum += loss;
        }
        return sum / stepsPerEpoch;
    }
}
