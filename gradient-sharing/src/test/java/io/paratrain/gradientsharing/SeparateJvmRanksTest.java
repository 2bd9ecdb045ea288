package io.paratrain.gradientsharing;

import io.paratrain.gradientsharing.exceptions.CollectiveException;
import io.paratrain.gradientsharing.exceptions.CollectiveTimeoutException;
import io.paratrain.gradientsharing.exceptions.PeerFailedException;
import io.paratrain.gradientsharing.internal.SharedMediaDriver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** Ranks in separate JVM processes: exact results, and a killed or frozen rank fails the others in bounded time. */
@Tag("slow")
@Timeout(180)
class SeparateJvmRanksTest
{
    private static final long TIMEOUT_MS = 3_000;

    @TempDir
    Path temp;

    private final List<Process> children = new ArrayList<>();
    private final ExecutorService threads = Executors.newCachedThreadPool();

    @AfterEach
    void cleanUp() throws Exception
    {
        for (final Process child : children)
        {
            signal(child, "CONT");
            child.destroyForcibly();
            assertTrue(child.waitFor(30, TimeUnit.SECONDS), "child process " + child.pid() + " did not exit");
        }
        threads.shutdownNow();
        assertTrue(threads.awaitTermination(30, TimeUnit.SECONDS), "rank threads still running");
        assertEquals(0, SharedMediaDriver.openCount(), "media drivers still open in this JVM");
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void threeJvmsReduceExactly(final Transport transport) throws Exception
    {
        final long session = ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE);
        final int iterations = 20;
        final int length = 300_001;
        final CollectiveConfig config = config(session, transport);
        final RingRendezvous rendezvous = RingRendezvous.bind(config, 0, 3); // this JVM launches the driver
        final Process rank1 = startRank(session, 1, 3, transport, "verify", iterations, length);
        final Process rank2 = startRank(session, 2, 3, transport, "verify", iterations, length);
        try (Collective collective = rendezvous.connect(FileRendezvous.exchange(temp.resolve("rendezvous"), 0, 3,
            rendezvous.endpoint(), TIMEOUT_MS * 4)))
        {
            for (int i = 0; i < iterations; i++)
            {
                final float[] data = AllReduceTest.exactValues(length, i);
                collective.allReduce(data, ReduceOp.SUM);
                org.junit.jupiter.api.Assertions.assertArrayEquals(RankProcess.expectedSum(length, 3, i), data,
                    "iteration " + i);
            }
        }
        assertEquals(0, exitCode(rank1), () -> output(1));
        assertEquals(0, exitCode(rank2), () -> output(2));
        assertTrue(output(1).contains("DONE"), () -> output(1));
    }

    static Stream<Arguments> failures()
    {
        final List<Arguments> cases = new ArrayList<>();
        for (final Transport transport : Transport.values())
        {
            cases.add(Arguments.of(transport, "KILL"));
            cases.add(Arguments.of(transport, "STOP"));
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} SIG{1}")
    @MethodSource("failures")
    void aKilledOrFrozenRankFailsTheOthersWithinTheTimeout(final Transport transport, final String signal)
        throws Exception
    {
        final long session = ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE);
        final CollectiveConfig config = config(session, transport);
        final int length = 200_000;
        final List<RingRendezvous> local = List.of(RingRendezvous.bind(config, 0, 3), RingRendezvous.bind(config, 1, 3));
        final Process rank2 = startRank(session, 2, 3, transport, "loop", 0, length);
        final AtomicInteger completed = new AtomicInteger();
        final AtomicLong[] failedAtNs = {new AtomicLong(), new AtomicLong()};
        final List<Future<Throwable>> ranks = new ArrayList<>();
        for (final RingRendezvous rendezvous : local)
        {
            ranks.add(threads.submit(() ->
            {
                final int rank = rendezvous.rank();
                try (Collective collective = rendezvous.connect(FileRendezvous.exchange(temp.resolve("rendezvous"),
                    rank, 3, rendezvous.endpoint(), TIMEOUT_MS * 4)))
                {
                    try
                    {
                        for (int i = 0; ; i++)
                        {
                            collective.allReduce(AllReduceTest.exactValues(length, rank + i), ReduceOp.SUM);
                            completed.incrementAndGet();
                        }
                    }
                    catch (final CollectiveException ex)
                    {
                        failedAtNs[rank].set(System.nanoTime()); // before close, which may wait for the driver
                        return ex;
                    }
                }
            }));
        }
        final long deadlineNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (completed.get() < 20)
        {
            if (System.nanoTime() > deadlineNs || !rank2.isAlive())
            {
                fail("the ring did not get going: " + completed.get() + " operations; rank 2 says " + output(2));
            }
            Thread.sleep(5);
        }
        final long signalledAtNs = System.nanoTime();
        signal(rank2, signal);
        boolean namesRank2 = false;
        for (int rank = 0; rank < 2; rank++)
        {
            final Throwable failure = ranks.get(rank).get(TIMEOUT_MS + 10_000, TimeUnit.MILLISECONDS);
            final long afterMs = TimeUnit.NANOSECONDS.toMillis(failedAtNs[rank].get() - signalledAtNs);
            assertTrue(afterMs <= TIMEOUT_MS + 1_000, "rank " + rank + " failed " + afterMs + " ms after SIG" +
                signal + ", more than timeout + 1 s: " + failure);
            assertTrue(failure.getMessage().contains("allReduce(SUM)"), failure.getMessage());
            if (failure instanceof CollectiveTimeoutException timeout)
            {
                namesRank2 |= timeout.peerRank() == 2;
                assertTrue(timeout.waitedMs() >= TIMEOUT_MS, failure.getMessage());
            }
            else
            {
                namesRank2 |= assertInstanceOf(PeerFailedException.class, failure).failedRank() == 2;
            }
        }
        assertTrue(namesRank2, "no rank named rank 2 as the one that stopped");
    }

    private CollectiveConfig config(final long session, final Transport transport)
    {
        return CollectiveConfig.builder(session)
            .driverBaseDir(temp.resolve("driver"))
            .transport(transport)
            .timeoutMs(TIMEOUT_MS)
            .closeTimeoutMs(2_000)
            .termBufferBytes(4 * 1024 * 1024)
            .build();
    }

    private Process startRank(final long session, final int rank, final int worldSize, final Transport transport,
        final String mode, final int iterations, final int length) throws IOException
    {
        final Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        final List<String> command = new ArrayList<>(List.of(java.toString(),
            "--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED", "-Xmx512m",
            "-cp", System.getProperty("java.class.path"), RankProcess.class.getName(),
            temp.resolve("rendezvous").toString(), temp.resolve("driver").toString(), Long.toString(session),
            Integer.toString(rank), Integer.toString(worldSize), transport.name(), mode, Integer.toString(iterations),
            Integer.toString(length)));
        final Process process = new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(temp.resolve("rank-" + rank + ".log").toFile())
            .start();
        children.add(process);
        return process;
    }

    private int exitCode(final Process process) throws InterruptedException
    {
        if (!process.waitFor(60, TimeUnit.SECONDS))
        {
            fail("rank process " + process.pid() + " did not exit");
        }
        return process.exitValue();
    }

    private String output(final int rank)
    {
        try
        {
            return Files.readString(temp.resolve("rank-" + rank + ".log"));
        }
        catch (final IOException ex)
        {
            return "(no output: " + ex + ")";
        }
    }

    private static void signal(final Process process, final String signal) throws Exception
    {
        if (process.isAlive())
        {
            final Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(process.pid())).start();
            assertTrue(kill.waitFor(10, TimeUnit.SECONDS), "kill -" + signal + " did not return");
        }
    }
}
