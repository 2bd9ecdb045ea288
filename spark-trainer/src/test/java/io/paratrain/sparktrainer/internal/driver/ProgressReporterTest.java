package io.paratrain.sparktrainer.internal.driver;

import io.paratrain.sparktrainer.StepMetrics;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Rank 0's progress never holds training up: a driver that does not read costs dropped lines, not steps. */
class ProgressReporterTest
{
    /** Far more than the socket's buffers hold (~100 bytes a line): a blocking writer would stop here. */
    private static final int STEPS = 300_000;

    private static StepMetrics step(final long globalStep)
    {
        return new StepMetrics(0, (int)globalStep, STEPS, globalStep, 64, 0.5, 1.0, 0.25);
    }

    @Test
    @Timeout(60)
    void aDriverThatDoesNotReadCostsDroppedLinesNotABlockedStep() throws IOException
    {
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress()))
        {
            final CompletableFuture<Socket> accepted = CompletableFuture.supplyAsync(() -> accept(server));
            final ProgressReporter reporter = new ProgressReporter("127.0.0.1:" + server.getLocalPort(), "t", 0);
            for (long s = 0; s < STEPS; s++)
            {
                reporter.step(step(s));
            }
            final long dropped = reporter.droppedLines();
            System.out.printf("driver never reads: %d of %d progress lines dropped%n", dropped, STEPS);
            assertTrue(dropped > 0 && dropped < STEPS, "dropped " + dropped);
            reporter.close(); // bounded: the queue's end marker waits at most its drain timeout
            accepted.join().close();
        }
    }

    @Test
    @Timeout(60)
    void aDriverThatReadsGetsEveryLineInOrder() throws Exception
    {
        final int steps = 2_000;
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress()))
        {
            final CompletableFuture<List<String>> lines = CompletableFuture.supplyAsync(() -> readAll(server));
            final ProgressReporter reporter = new ProgressReporter("127.0.0.1:" + server.getLocalPort(), "t", 3);
            for (long s = 0; s < steps; s++)
            {
                reporter.step(step(s));
            }
            reporter.close();
            final List<String> got = lines.get();
            assertEquals(0, reporter.droppedLines());
            assertEquals(steps + 1, got.size(), "HELLO and every step");
            assertEquals("t HELLO 3", got.get(0));
            for (int s = 0; s < steps; s++)
            {
                assertTrue(got.get(s + 1).startsWith("t STEP 3 0 " + s + " "), got.get(s + 1));
            }
        }
    }

    private static Socket accept(final ServerSocket server)
    {
        try
        {
            return server.accept();
        }
        catch (final IOException ex)
        {
            throw new IllegalStateException(ex);
        }
    }

    private static List<String> readAll(final ServerSocket server)
    {
        try (Socket socket = server.accept(); BufferedReader in = new BufferedReader(new InputStreamReader(
            socket.getInputStream(), StandardCharsets.UTF_8)))
        {
            final List<String> lines = new ArrayList<>();
            for (String line = in.readLine(); line != null; line = in.readLine())
            {
                lines.add(line);
            }
            return lines;
        }
        catch (final IOException ex)
        {
            throw new IllegalStateException(ex);
        }
    }
}
