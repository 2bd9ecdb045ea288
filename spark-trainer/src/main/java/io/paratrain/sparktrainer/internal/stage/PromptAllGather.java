package io.paratrain.sparktrainer.internal.stage;

import org.apache.spark.BarrierTaskContext;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * {@link BarrierTaskContext#allGather} without Spark's one-second polling tick.
 * <p>
 * Spark 3.5's barrier call sends its RPC and then loops {@code while (!future.isCompleted) Thread.sleep(1000)},
 * checking after each sleep (or interrupt) whether the task was killed. The answer usually arrives within
 * milliseconds, but the caller only sees it after the first full second: measured 1000-1008 ms per call, even
 * when every task arrives at once. While this task thread is inside the call, a short-lived waker thread
 * interrupts it every {@link #WAKE_INTERVAL_NS}: Spark's loop treats the interrupt as a wake-up, checks that the
 * task was not killed and whether the answer is in, and sleeps again. A real kill still works (Spark records the
 * kill reason apart from the interrupt flag and the loop throws {@code TaskKilledException}). The waker is
 * stopped and joined, and the interrupt flag cleared, before the task thread goes on, so no stray interrupt
 * reaches Aeron or ND4J code.
 */
public final class PromptAllGather
{
    private static final long WAKE_INTERVAL_NS = TimeUnit.MILLISECONDS.toNanos(5);

    private PromptAllGather()
    {
    }

    /** Every task's message, in partition order (Spark's {@code allGather} contract). */
    public static String[] allGather(final BarrierTaskContext context, final String message)
    {
        final Waker waker = new Waker(Thread.currentThread(), "paratrain-allgather-waker-" + context.partitionId());
        waker.start();
        try
        {
            return context.allGather(message);
        }
        finally
        {
            waker.finish();
            joinUninterruptibly(waker);
            Thread.interrupted(); // clears the waker's last interrupt
            context.killTaskIfInterrupted(); // ... but never hides a real kill
        }
    }

    private static void joinUninterruptibly(final Thread thread)
    {
        boolean interrupted = false;
        while (thread.isAlive())
        {
            try
            {
                thread.join();
            }
            catch (final InterruptedException ex)
            {
                interrupted = true;
            }
        }
        if (interrupted)
        {
            Thread.currentThread().interrupt();
        }
    }

    private static final class Waker extends Thread
    {
        private final Thread target;
        private volatile boolean running = true;

        Waker(final Thread target, final String name)
        {
            super(name);
            this.target = target;
            setDaemon(true);
        }

        void finish()
        {
            running = false;
            LockSupport.unpark(this);
        }

        @Override
        public void run()
        {
            while (running)
            {
                LockSupport.parkNanos(WAKE_INTERVAL_NS);
                if (running)
                {
                    target.interrupt();
                }
            }
        }
    }
}
