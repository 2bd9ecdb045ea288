package io.paratrain.sparktrainer.internal.driver;

import io.paratrain.sparktrainer.StepMetrics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Rank 0's side of {@link ProgressServer}. Every line carries the stage attempt, so that the driver follows the
 * newest attempt after Spark retried the stage; the first line ({@code HELLO}) announces it as soon as the task
 * connects. Progress is best effort and never holds training up: lines go into a bounded queue that a daemon thread
 * writes to the socket; when the driver reads too slowly the queue fills and new lines are dropped, counted, and
 * reported once at the end (a {@code DROPPED} line for the driver's log, and this task's log). If the driver cannot
 * be reached, training goes on and a warning says so once.
 */
public final class ProgressReporter implements AutoCloseable
{
    private static final Logger LOG = LoggerFactory.getLogger(ProgressReporter.class);
    private static final int CONNECT_TIMEOUT_MS = 5_000;
    /** Lines waiting for the socket: a few seconds of steps at the fastest step rates seen. */
    static final int QUEUE_LINES = 4_096;
    /** How long close waits for the queued lines to be written. */
    private static final long DRAIN_TIMEOUT_MS = 2_000;
    private static final String END = "";

    private final String token;
    private final int attempt;
    private final BlockingQueue<String> queue = new ArrayBlockingQueue<>(QUEUE_LINES);
    private final AtomicLong dropped = new AtomicLong();
    private volatile Socket socket;
    private volatile PrintWriter out;
    private Thread writer;

    /** {@code address} null: rank 0 is not this task, nothing is sent. */
    public ProgressReporter(final String address, final String token, final int attempt)
    {
        this.token = token;
        this.attempt = attempt;
        if (address == null)
        {
            return;
        }
        final int colon = address.lastIndexOf(':');
        try
        {
            socket = new Socket();
            socket.connect(new InetSocketAddress(address.substring(0, colon),
                Integer.parseInt(address.substring(colon + 1))), CONNECT_TIMEOUT_MS);
            out = new PrintWriter(new OutputStreamWriter(socket.getOutputStream(), StandardCharsets.UTF_8), true);
            send(String.format(Locale.ROOT, "%s HELLO %d", token, attempt));
            writer = new Thread(this::writeLines, "paratrain-progress");
            writer.setDaemon(true);
            writer.start();
        }
        catch (final IOException | RuntimeException ex)
        {
            LOG.warn("No live progress: cannot reach the driver at {}: {}", address, ex.toString());
            close();
        }
    }

    public void step(final StepMetrics m)
    {
        send(String.format(Locale.ROOT, "%s STEP %d %d %d %d %d %d %.17g %.4f %.4f", token, attempt, m.epoch(),
            m.step(), m.stepsPerEpoch(), m.globalStep(), m.examples(), m.loss(), m.stepMs(), m.communicationMs()));
    }

    /** {@code meanLoss} over the steps of the epoch that this attempt ran (after a resume, not all of them). */
    public void epoch(final int epoch, final double meanLoss, final double samplesPerSecond)
    {
        send(String.format(Locale.ROOT, "%s EPOCH %d %d %.17g %.3f", token, attempt, epoch, meanLoss,
            samplesPerSecond));
    }

    /** Lines the driver did not get because it read too slowly (or the connection failed). */
    public long droppedLines()
    {
        return dropped.get();
    }

    private void send(final String line)
    {
        if (out != null && !queue.offer(line))
        {
            dropped.incrementAndGet();
        }
    }

    /** The writer thread: the queue to the socket, until {@link #END}. */
    private void writeLines()
    {
        try
        {
            for (String line = queue.take(); !END.equals(line); line = queue.take())
            {
                final PrintWriter writerOut = out;
                if (writerOut == null)
                {
                    return;
                }
                writerOut.println(line);
                if (writerOut.checkError())
                {
                    LOG.warn("Live progress lost: the connection to the driver failed");
                    return;
                }
            }
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close()
    {
        if (writer != null)
        {
            try
            {
                // the END marker waits for room; a stuck socket is closed below, which ends the writer
                if (queue.offer(END, DRAIN_TIMEOUT_MS, TimeUnit.MILLISECONDS))
                {
                    writer.join(DRAIN_TIMEOUT_MS);
                }
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
            }
            final long droppedLines = dropped.get();
            if (droppedLines > 0)
            {
                LOG.warn("{} progress lines dropped: the driver read them too slowly", droppedLines);
                if (!writer.isAlive() && out != null) // the queue drained: the driver reads again
                {
                    out.println(String.format(Locale.ROOT, "%s DROPPED %d %d", token, attempt, droppedLines));
                }
            }
            writer.interrupt();
            writer = null;
        }
        // The socket first: a writer blocked on a driver that does not read holds the PrintWriter's lock, which
        // closing the PrintWriter first would wait for.
        if (socket != null)
        {
            try
            {
                socket.close();
            }
            catch (final IOException ex)
            {
                LOG.debug("closing progress socket: {}", ex.toString());
            }
            socket = null;
        }
        if (out != null)
        {
            out.close();
            out = null;
        }
    }
}
