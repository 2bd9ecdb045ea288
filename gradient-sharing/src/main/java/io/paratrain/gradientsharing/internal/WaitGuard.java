package io.paratrain.gradientsharing.internal;

import io.paratrain.gradientsharing.AbortSignal;
import io.paratrain.gradientsharing.exceptions.CollectiveAbortedException;
import io.paratrain.gradientsharing.exceptions.CollectiveException;
import io.paratrain.gradientsharing.exceptions.MediaDriverLostException;

import java.util.concurrent.TimeUnit;

/**
 * What ends a rank's wait for a peer before the no-progress timeout: the caller's {@link AbortSignal} (Spark killed
 * the task), an interrupt of the waiting thread, or the loss of the media driver (the JVM that ran it died). A peer
 * that died silently is otherwise seen only when the timeout runs out: 120 s by default, during which a retried
 * Spark stage cannot get this task's slot. Asked at most every {@link #CHECK_INTERVAL_NS} while no frame moves.
 */
public final class WaitGuard
{
    static final long CHECK_INTERVAL_NS = TimeUnit.MILLISECONDS.toNanos(20);

    private final AbortSignal signal;
    private final SharedMediaDriver driver;
    private long lastCheckNs;
    private String abortReason;
    private String lostReason;

    /** {@code driver} null: no driver to watch (a world of one). */
    public WaitGuard(final AbortSignal signal, final SharedMediaDriver driver)
    {
        this.signal = signal == null ? AbortSignal.NEVER : signal;
        this.driver = driver;
    }

    /** True when the next {@link #stopping} is due; call with the loop's clock while no frame moved. */
    boolean due(final long nowNs)
    {
        if (nowNs - lastCheckNs < CHECK_INTERVAL_NS)
        {
            return false;
        }
        lastCheckNs = nowNs;
        return true;
    }

    /**
     * True if the wait must end now; then {@link #failure} builds the exception. Allocates nothing while the wait
     * may go on (it is asked during every step's waits).
     */
    boolean stopping()
    {
        abortReason = signal.abortReason();
        if (abortReason == null && Thread.currentThread().isInterrupted())
        {
            abortReason = "the thread was interrupted";
        }
        lostReason = abortReason != null || driver == null ? null : driver.lostReason();
        return abortReason != null || lostReason != null;
    }

    /**
     * The exception that ends the wait, after {@link #stopping} said so.
     *
     * @param where     the operation and rank, as in "allReduce(SUM) on rank 0".
     * @param waitingMs how long the operation has made no progress.
     * @param what      what it waits for, as in "waiting for frame 3 of 8 from rank 1".
     */
    CollectiveException failure(final String where, final long waitingMs, final String what)
    {
        if (abortReason != null)
        {
            return new CollectiveAbortedException(where + ": stopped " + what + " after " + waitingMs +
                " ms without progress: " + abortReason);
        }
        return new MediaDriverLostException(where + ": " + what + " for " + waitingMs + " ms, but " + lostReason);
    }
}
