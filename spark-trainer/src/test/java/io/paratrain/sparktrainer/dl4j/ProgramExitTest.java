package io.paratrain.sparktrainer.dl4j;

import io.paratrain.sparktrainer.ChildJvm;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A DL4J Spark user's program that trains through the drop-in must end by itself once {@code main} returns: Spark's
 * barrier stages leave non-daemon timer threads behind ({@link io.paratrain.sparktrainer.internal.stage.BarrierTimers}),
 * which Paratrain's own mains hid with {@code System.exit}.
 */
@Tag("slow")
@Timeout(240)
class ProgramExitTest
{
    /** JVM start, Spark, ND4J and the fit; generous, the machine is shared. */
    private static final long STOP_DEADLINE_MS = 180_000;
    /** The JVM has ended within this after sc.stop() returned (Spark's shutdown hooks take well under a second). */
    private static final long EXIT_AFTER_STOP_MS = 10_000;

    @RegisterExtension
    final ChildJvm child = new ChildJvm();

    @Test
    void aDropInProgramExitsByItselfAfterTheContextStops(@TempDir final Path dir) throws Exception
    {
        final Path log = dir.resolve("program.log");
        final Process program = child.start(List.of("-Xmx1g"), DropInProgram.class, List.of(), log);

        final long stoppedAtNs = awaitLine(log, DropInProgram.STOPPED, STOP_DEADLINE_MS);
        final boolean exited = program.waitFor(EXIT_AFTER_STOP_MS - (System.nanoTime() - stoppedAtNs) / 1_000_000,
            TimeUnit.MILLISECONDS);
        final long exitMs = (System.nanoTime() - stoppedAtNs) / 1_000_000;
        System.out.println("The drop-in program's JVM " + (exited ? "exited " + exitMs + " ms" : "was still alive " +
            exitMs + " ms") + " after sc.stop() returned");
        if (!exited)
        {
            Thread.sleep(DropInProgram.REPORT_AFTER_MS); // the program's own report of its threads, if not there yet
            fail("the program's JVM did not exit within " + EXIT_AFTER_STOP_MS + " ms of sc.stop(); threads left: " +
                threadsLeft(log));
        }
        assertEquals(0, program.exitValue(), "exit code of the program; its output:\n" + Files.readString(log));
    }

    /** When the line appeared (System.nanoTime), polling the log; fails if the program ended or the deadline passed. */
    private long awaitLine(final Path log, final String line, final long deadlineMs)
        throws IOException, InterruptedException
    {
        final long deadlineNs = System.nanoTime() + deadlineMs * 1_000_000L;
        while (System.nanoTime() - deadlineNs < 0)
        {
            if (Files.readAllLines(log).contains(line))
            {
                return System.nanoTime();
            }
            if (!child.process().isAlive())
            {
                fail("the program ended (exit " + child.process().exitValue() + ") before stopping its context:\n" +
                    Files.readString(log));
            }
            Thread.sleep(50);
        }
        fail("the program did not stop its context within " + deadlineMs + " ms:\n" + Files.readString(log));
        return 0;
    }

    private static String threadsLeft(final Path log) throws IOException
    {
        final String left = Files.readAllLines(log).stream().filter(l -> l.startsWith(DropInProgram.LEFT))
            .map(l -> l.substring(DropInProgram.LEFT.length())).collect(Collectors.joining("; "));
        return left.isEmpty() ? "(none reported)" : left;
    }
}
