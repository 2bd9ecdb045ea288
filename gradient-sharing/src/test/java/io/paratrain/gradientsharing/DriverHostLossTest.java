package io.paratrain.gradientsharing;

import io.paratrain.gradientsharing.exceptions.CollectiveException;
import io.paratrain.gradientsharing.exceptions.CollectiveTimeoutException;
import io.paratrain.gradientsharing.exceptions.MediaDriverLostException;
import io.paratrain.gradientsharing.internal.SharedMediaDriver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The JVM that runs the host's shared media driver is another rank's: when it is killed, the rank in this JVM (which
 * only attached to that driver) fails within seconds with {@link MediaDriverLostException}, not after the 30 s
 * no-progress timeout; when it is only paused (SIGSTOP), its process lives on and the timeout decides, naming it.
 */
@Tag("slow")
@Timeout(120)
class DriverHostLossTest
{
    private static final long TIMEOUT_MS = 30_000;
    private static final long PAUSED_TIMEOUT_MS = 4_000;

    @TempDir
    Path temp;

    private Process driverHost;
    private final ExecutorService threads = Executors.newSingleThreadExecutor();

    @AfterEach
    void cleanUp() throws Exception
    {
        if (driverHost != null)
        {
            signal(driverHost, "CONT");
            driverHost.destroyForcibly();
            assertTrue(driverHost.waitFor(30, TimeUnit.SECONDS), "rank 1's process did not exit");
        }
        threads.shutdownNow();
        assertTrue(threads.awaitTermination(30, TimeUnit.SECONDS), "rank 0's thread still running");
        assertEquals(0, SharedMediaDriver.openCount(), "media drivers still open in this JVM");
    }

    @Test
    void killingTheJvmThatRunsTheMediaDriverFailsTheOtherRankWithinSeconds() throws Exception
    {
        final Failure failure = signalDriverHost("KILL", TIMEOUT_MS);
        final MediaDriverLostException lost = assertInstanceOf(MediaDriverLostException.class, failure.error(),
            "" + failure.error());
        System.out.printf("rank 0 failed %d ms after SIGKILL of the driver's JVM: %s%n", failure.afterMs(),
            lost.getMessage());
        assertTrue(failure.afterMs() < 5_000, failure.afterMs() + " ms after the kill: " + lost);
        assertTrue(lost.getMessage().startsWith("allReduce(SUM) on rank 0: waiting for frame "), lost.getMessage());
        assertTrue(lost.getMessage().contains("is gone: the process that ran it (pid " + driverHost.pid() +
            ", another rank's JVM) has ended"), lost.getMessage());
    }

    @Test
    void pausingTheJvmThatRunsTheMediaDriverLeavesItToTheTimeout() throws Exception
    {
        final Failure failure = signalDriverHost("STOP", PAUSED_TIMEOUT_MS);
        final CollectiveTimeoutException timeout = assertInstanceOf(CollectiveTimeoutException.class,
            failure.error(), "" + failure.error());
        assertEquals(1, timeout.peerRank(), timeout.getMessage());
        assertTrue(timeout.waitedMs() >= PAUSED_TIMEOUT_MS, timeout.getMessage());
    }

    private record Failure(CollectiveException error, long afterMs)
    {
    }

    /**
     * Starts rank 1 in a JVM of its own, which launches the driver; rank 0 in this JVM attaches to it. Both
     * all-reduce in a loop until rank 1's JVM gets {@code signal}; returns rank 0's error and when it came.
     */
    private Failure signalDriverHost(final String signal, final long timeoutMs) throws Exception
    {
        final long session = ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE);
        final CollectiveConfig config = CollectiveConfig.builder(session).driverBaseDir(temp.resolve("driver"))
            .timeoutMs(timeoutMs).closeTimeoutMs(1_000).termBufferBytes(4 * 1024 * 1024).build();
        driverHost = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED", "-Xmx256m", "-cp",
            System.getProperty("java.class.path"), RankProcess.class.getName(), temp.resolve("rendezvous").toString(),
            temp.resolve("driver").toString(), Long.toString(session), "1", "2", Transport.AUTO.name(), "loop", "0",
            "100000").redirectErrorStream(true).redirectOutput(temp.resolve("rank-1.log").toFile()).start();
        awaitDriverLaunched(config.driverDir());
        final RingRendezvous rendezvous = RingRendezvous.bind(config, 0, 2); // attaches to rank 1's driver
        final AtomicInteger done = new AtomicInteger();
        final AtomicLong failedAtNs = new AtomicLong();
        final Future<CollectiveException> rank0 = threads.submit(() ->
        {
            try (Collective collective = rendezvous.connect(FileRendezvous.exchange(temp.resolve("rendezvous"), 0, 2,
                rendezvous.endpoint(), 30_000)))
            {
                for (int i = 0; ; i++)
                {
                    collective.allReduce(AllReduceTest.exactValues(100_000, i), ReduceOp.SUM);
                    done.incrementAndGet();
                }
            }
            catch (final CollectiveException ex)
            {
                failedAtNs.compareAndSet(0, System.nanoTime());
                return ex;
            }
        });
        final long deadlineNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (done.get() < 20)
        {
            if (System.nanoTime() > deadlineNs || !driverHost.isAlive() || rank0.isDone())
            {
                fail("the ring did not get going: " + done.get() + " operations; rank 1 says " +
                    Files.readString(temp.resolve("rank-1.log")));
            }
            Thread.sleep(5);
        }
        final long signalledAtNs = System.nanoTime();
        signal(driverHost, signal);
        final CollectiveException error = rank0.get(timeoutMs + 20_000, TimeUnit.MILLISECONDS);
        return new Failure(error, TimeUnit.NANOSECONDS.toMillis(failedAtNs.get() - signalledAtNs));
    }

    /** Rank 1's driver is up once its id file is written (after the launch). */
    private void awaitDriverLaunched(final Path driverDir) throws Exception
    {
        final long deadlineNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!Files.exists(driverDir.resolve("paratrain-driver.id")))
        {
            if (System.nanoTime() > deadlineNs || !driverHost.isAlive())
            {
                fail("rank 1 did not launch the media driver in " + driverDir + ": " +
                    Files.readString(temp.resolve("rank-1.log")));
            }
            Thread.sleep(10);
        }
    }

    private static void signal(final Process process, final String signal) throws IOException, InterruptedException
    {
        if (process.isAlive())
        {
            final Process kill = new ProcessBuilder(List.of("kill", "-" + signal, Long.toString(process.pid())))
                .start();
            assertTrue(kill.waitFor(10, TimeUnit.SECONDS), "kill -" + signal + " did not return");
        }
    }
}
