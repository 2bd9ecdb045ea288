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

/**
 * Rank 0's side of {@link ProgressServer}. Every line carries the stage attempt, so that the driver follows the
 * newest attempt after Spark retried the stage; the first line ({@code HELLO}) announces it as soon as the task
 * connects. Progress is best effort: if the driver cannot be reached, training goes on and a warning says so once.
 */
public final class ProgressReporter implements AutoCloseable
{
    private static final Logger LOG = LoggerFactory.getLogger(ProgressReporter.class);
    private static final int CONNECT_TIMEOUT_MS = 5_000;

    private final String token;
    private final int attempt;
    private Socket socket;
    private PrintWriter out;

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

    private void send(final String line)
    {
        if (out != null)
        {
            out.println(line);
            if (out.checkError())
            {
                LOG.warn("Live progress lost: the connection to the driver failed");
                close();
            }
        }
    }

    @Override
    public void close()
    {
        if (out != null)
        {
            out.close();
            out = null;
        }
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
    }
}
