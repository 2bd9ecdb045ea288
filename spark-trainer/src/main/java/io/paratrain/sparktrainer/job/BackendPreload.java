package io.paratrain.sparktrainer.job;

import io.paratrain.sparktrainer.exceptions.TrainerException;
import org.nd4j.linalg.factory.Nd4j;

/**
 * ND4J's native backend, loaded on a thread of its own while Spark starts. On a cold JVM each takes seconds, one
 * after the other they added up; the model, built once Spark is up, is the first user of the backend and waits for
 * the load ({@link #await}). A failed load is rethrown there as it happened: the main thread would otherwise only
 * see the NoClassDefFoundError that a class whose initializer failed on another thread gives, without the cause.
 */
final class BackendPreload
{
    /** Far longer than a load takes (1-5 s measured on a loaded 2-core machine): only a stuck load reaches it. */
    static final long WAIT_MS = 300_000;

    private final Thread thread;
    private final long waitMs;
    private volatile Throwable failure;

    private BackendPreload(final Runnable load, final long waitMs)
    {
        this.thread = new Thread(() -> run(load), "paratrain-nd4j-load");
        this.thread.setDaemon(true); // a job that fails before it needs ND4J must still end
        this.waitMs = waitMs;
    }

    static BackendPreload start()
    {
        // ND4J's class initializer loads the backend, its native library and its executioner
        return start(Nd4j::getBackend, WAIT_MS);
    }

    /** Runs {@code load} as the backend's load, waited for up to {@code waitMs}: for tests. */
    static BackendPreload start(final Runnable load, final long waitMs)
    {
        final BackendPreload preload = new BackendPreload(load, waitMs);
        preload.thread.start();
        return preload;
    }

    private void run(final Runnable load)
    {
        try
        {
            load.run();
        }
        catch (final Throwable ex) // kept for await(), which rethrows it on the thread that needs the backend
        {
            failure = ex;
        }
    }

    /** Waits for the load (up to {@link #WAIT_MS} in the job); rethrows its failure. */
    void await()
    {
        try
        {
            thread.join(waitMs);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new TrainerException("interrupted while waiting for ND4J's native backend to load", ex);
        }
        if (thread.isAlive())
        {
            throw new TrainerException("ND4J's native backend did not load within " + waitMs / 1000.0 + " s");
        }
        if (failure instanceof Error error)
        {
            throw error;
        }
        if (failure instanceof RuntimeException runtime)
        {
            throw runtime;
        }
        if (failure != null)
        {
            throw new TrainerException("ND4J's native backend failed to load: " + failure, failure);
        }
    }
}
