package io.paratrain.gradientsharing;

/**
 * What a rank's caller knows that the ring cannot: that the work is over (say, Spark killed the task because a peer's
 * executor died). A collective operation that waits for a peer asks it every few milliseconds, and a non-null answer
 * ends the wait at once with a {@link io.paratrain.gradientsharing.exceptions.CollectiveAbortedException} carrying
 * it, instead of the wait running into the no-progress timeout. Called on the thread that runs the operation; must be
 * cheap and must not block.
 */
@FunctionalInterface
public interface AbortSignal
{
    /** Never aborts. */
    AbortSignal NEVER = () -> null;

    /** Null to keep waiting, else why the wait must end (it goes into the exception's message). */
    String abortReason();
}
