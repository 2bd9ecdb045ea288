package io.paratrain.sparktrainer.internal.stage;

import io.paratrain.sparktrainer.exceptions.TrainerException;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * A task's start-up step run on a daemon thread of its own while the task thread does something else, then awaited
 * with a deadline. A failure or a missed deadline becomes a {@link TrainerException} naming the rank and the step.
 */
public final class BackgroundWork<T>
{
    private final CompletableFuture<T> result = new CompletableFuture<>();
    private final String what;
    private final int rank;

    private BackgroundWork(final String what, final int rank)
    {
        this.what = what;
        this.rank = rank;
    }

    /**
     * @param what names the step in errors, as in "rank 1: {@code what} did not finish within 120000 ms".
     */
    public static <T> BackgroundWork<T> start(final String threadName, final String what, final int rank,
        final Supplier<T> work)
    {
        final BackgroundWork<T> background = new BackgroundWork<>(what, rank);
        final Thread thread = new Thread(() ->
        {
            try
            {
                background.result.complete(work.get());
            }
            catch (final Throwable ex)
            {
                background.result.completeExceptionally(ex);
            }
        }, threadName);
        thread.setDaemon(true);
        thread.start();
        return background;
    }

    /** The result; a runtime exception of the work is rethrown as it is. */
    public T await(final long timeoutMs)
    {
        try
        {
            return result.get(timeoutMs, TimeUnit.MILLISECONDS);
        }
        catch (final TimeoutException ex)
        {
            throw new TrainerException("rank " + rank + ": " + what + " did not finish within " + timeoutMs + " ms",
                ex);
        }
        catch (final ExecutionException ex)
        {
            if (ex.getCause() instanceof RuntimeException runtime)
            {
                throw runtime;
            }
            throw new TrainerException("rank " + rank + ": " + what + " failed", ex.getCause());
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new TrainerException("rank " + rank + ": interrupted while " + what, ex);
        }
    }

    /** Runs {@code cleanup} on the result once there is one (now, if the work is done), never waiting here. */
    public void whenDone(final Consumer<T> cleanup)
    {
        result.whenComplete((value, failure) ->
        {
            if (value != null)
            {
                cleanup.accept(value);
            }
        });
    }
}
