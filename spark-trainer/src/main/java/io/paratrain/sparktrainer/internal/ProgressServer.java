package io.paratrain.sparktrainer.internal;

import io.paratrain.sparktrainer.StepMetrics;
import io.paratrain.sparktrainer.TrainingListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Receives rank 0's per-step metrics on the driver while the barrier stage runs (Spark's own accumulators
 * arrive only with task results or 10 s heartbeats) and hands them to the listeners in order. Lines that do
 * not start with this fit's token are ignored.
 */
public final class ProgressServer extends DriverSocket
{
    private static final Logger LOG = LoggerFactory.getLogger(ProgressServer.class);

    private final String token;
    private final List<TrainingListener> listeners;

    public ProgressServer(final String bindHost, final String token, final List<TrainingListener> listeners)
        throws IOException
    {
        super(bindHost, "progress");
        this.token = token;
        this.listeners = listeners;
        start();
    }

    @Override
    void serve(final Socket socket) throws IOException
    {
        final BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(),
            StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null)
        {
            dispatch(line);
        }
    }

    private void dispatch(final String line)
    {
        final String[] f = line.split(" ");
        if (f.length < 2 || !token.equals(f[0]))
        {
            return;
        }
        try
        {
            if ("STEP".equals(f[1]) && f.length == 10)
            {
                final StepMetrics metrics = new StepMetrics(Integer.parseInt(f[2]), Integer.parseInt(f[3]),
                    Integer.parseInt(f[4]), Long.parseLong(f[5]), Integer.parseInt(f[6]), Double.parseDouble(f[7]),
                    Double.parseDouble(f[8]), Double.parseDouble(f[9]));
                listeners.forEach(listener -> listener.onStep(metrics));
            }
            else if ("EPOCH".equals(f[1]) && f.length == 5)
            {
                final int epoch = Integer.parseInt(f[2]);
                final double loss = Double.parseDouble(f[3]);
                final double samplesPerSecond = Double.parseDouble(f[4]);
                listeners.forEach(listener -> listener.onEpochEnd(epoch, loss, samplesPerSecond));
            }
        }
        catch (final NumberFormatException ex)
        {
            LOG.warn("Ignoring malformed progress line '{}'", line);
        }
    }
}
