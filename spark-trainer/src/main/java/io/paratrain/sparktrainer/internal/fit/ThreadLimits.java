package io.paratrain.sparktrainer.internal.fit;

import org.nd4j.linalg.factory.Nd4j;

/** Caps the thread pools of ND4J's own ops and of BLAS for the tasks of this executor JVM. */
final class ThreadLimits
{
    private ThreadLimits()
    {
    }

    /**
     * ND4J's ops and OpenBLAS each keep a thread pool; several ranks in one executor JVM (local mode, or executors
     * with several cores) oversubscribe the cores unless both are limited: measured 68 ms vs 42 ms a step for two
     * 784-1000-500-10 replicas at batch 128 on 2 cores. {@code threads} 0 leaves the defaults.
     */
    static void apply(final int threads)
    {
        if (threads > 0)
        {
            Nd4j.getEnvironment().setMaxMasterThreads(threads);
            Nd4j.getEnvironment().setMaxThreads(threads);
            Nd4j.factory().blas().setMaxThreads(threads);
        }
    }
}
