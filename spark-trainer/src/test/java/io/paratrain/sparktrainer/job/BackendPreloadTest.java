package io.paratrain.sparktrainer.job;

import io.paratrain.sparktrainer.exceptions.TrainerException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(60)
class BackendPreloadTest
{
    @Test
    void theLoadRunsOnAThreadOfItsOwnAndAwaitReturnsOnceItIsDone()
    {
        final AtomicReference<String> loadedOn = new AtomicReference<>();
        final BackendPreload preload = BackendPreload.start(() -> loadedOn.set(Thread.currentThread().getName()),
            10_000);
        preload.await();
        assertEquals("paratrain-nd4j-load", loadedOn.get());
    }

    /** The cause a class initializer gave, not the NoClassDefFoundError the waiting thread would see. */
    @Test
    void aFailedLoadIsRethrownAsItHappened()
    {
        final ExceptionInInitializerError failure = new ExceptionInInitializerError(
            new IllegalStateException("no native library for this platform"));
        final BackendPreload preload = BackendPreload.start(() ->
        {
            throw failure;
        }, 10_000);
        assertSame(failure, assertThrows(ExceptionInInitializerError.class, preload::await));
    }

    @Test
    void aLoadThatDoesNotEndFailsTheWaitAfterItsDeadline() throws InterruptedException
    {
        final CountDownLatch release = new CountDownLatch(1);
        final BackendPreload preload = BackendPreload.start(() ->
        {
            try
            {
                release.await();
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
            }
        }, 200);
        final TrainerException stuck = assertThrows(TrainerException.class, preload::await);
        assertTrue(stuck.getMessage().contains("did not load within 0.2 s"), stuck.getMessage());
        release.countDown();
    }

    @Test
    void theJobsLoadLoadsNd4jsBackend()
    {
        BackendPreload.start().await();
        assertTrue(org.nd4j.linalg.factory.Nd4j.getBackend().getEnvironment().isCPU(), "the CPU backend is loaded");
    }
}
