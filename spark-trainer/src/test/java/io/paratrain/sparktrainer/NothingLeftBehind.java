package io.paratrain.sparktrainer;

import io.paratrain.gradientsharing.internal.SharedMediaDriver;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Test extension for classes that run fits without {@link LocalSpark} (which checks the same): after every test and
 * after the class, no media driver is open in this JVM, no media driver folder this JVM launched remains, and no child
 * process is alive. {@code @ExtendWith(NothingLeftBehind.class)}.
 */
public final class NothingLeftBehind implements AfterEachCallback, AfterAllCallback
{
    /** A failed stage's other tasks close their rings when Spark's kill or their own timeout reaches them. */
    private static final long RELEASE_WAIT_MS = 30_000;

    @Override
    public void afterEach(final ExtensionContext context) throws InterruptedException
    {
        check(context.getDisplayName());
    }

    @Override
    public void afterAll(final ExtensionContext context) throws InterruptedException
    {
        check(context.getDisplayName());
    }

    /** Waits up to {@link #RELEASE_WAIT_MS} for the media drivers to close, then checks drivers, folders, processes. */
    static void check(final String after) throws InterruptedException
    {
        final long deadlineNs = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(RELEASE_WAIT_MS);
        while ((SharedMediaDriver.openCount() > 0 || !SharedMediaDriver.launchedFoldersLeft().isEmpty()) &&
            System.nanoTime() < deadlineNs)
        {
            Thread.sleep(50);
        }
        assertEquals(0, SharedMediaDriver.openCount(), "media drivers still open after " + after);
        assertEquals(List.of(), SharedMediaDriver.launchedFoldersLeft(), "media driver folders left after " + after);
        assertEquals(List.of(), ProcessHandle.current().children().filter(ProcessHandle::isAlive)
            .map(p -> p.pid() + " " + p.info().commandLine().orElse("?")).toList(),
            "child processes alive after " + after);
    }
}
