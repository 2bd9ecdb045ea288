package io.paratrain.sparktrainer.internal.driver;

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
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Receives rank 0's per-step metrics on the driver while the barrier stage runs (Spark's own accumulators
 * arrive only with task results or 10 s heartbeats) and hands them to the listeners through a
 * {@link ProgressFollower}, which follows the newest stage attempt. Lines that do not start with this fit's token
 * are ignored. When a newer attempt connects, the connections of older ones are closed.
 * <p>
 * Lines: {@code <token> HELLO <attempt>}, {@code <token> STEP <attempt> <epoch> <step> <stepsPerEpoch> <globalStep>
 * <examples> <loss> <stepMs> <communicationMs>}, {@code <token> EPOCH <attempt> <epoch> <meanLoss>
 * <samplesPerSecond>}.
 */
public final class ProgressServer extends DriverSocket
{
    private static final Logger LOG = LoggerFactory.getLogger(ProgressServer.class);

    private final String token;
    private final ProgressFollower follower;
    /** The stage attempt of each open connection, once it said HELLO. */
    private final Map<Socket, Integer> attempts = new ConcurrentHashMap<>();

    public ProgressServer(final String bindHost, final String token, final List<TrainingListener> listeners)
        throws IOException
    {
        super(bindHost, "progress");
        this.token = token;
        this.follower = new ProgressFollower(listeners);
        start();
    }

    @Override
    void serve(final Socket socket) throws IOException
    {
        try
        {
            final BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(),
                StandardCharsets.UTF_8));
            String line;
            while ((line = in.readLine()) != null)
            {
                dispatch(socket, line);
            }
        }
        finally
        {
            attempts.remove(socket);
        }
    }

    private void dispatch(final Socket socket, final String line)
    {
        final String[] f = line.split(" ");
        if (f.length < 3 || !token.equals(f[0]))
        {
            return;
        }
        try
        {
            final int attempt = Integer.parseInt(f[2]);
            if ("HELLO".equals(f[1]) && f.length == 3)
            {
                hello(socket, attempt);
            }
            else if ("STEP".equals(f[1]) && f.length == 11)
            {
                follower.step(attempt, new StepMetrics(Integer.parseInt(f[3]), Integer.parseInt(f[4]),
                    Integer.parseInt(f[5]), Long.parseLong(f[6]), Integer.parseInt(f[7]), Double.parseDouble(f[8]),
                    Double.parseDouble(f[9]), Double.parseDouble(f[10])));
            }
            else if ("EPOCH".equals(f[1]) && f.length == 6)
            {
                follower.epochEnd(attempt, Integer.parseInt(f[3]), Double.parseDouble(f[4]),
                    Double.parseDouble(f[5]));
            }
            else if ("DROPPED".equals(f[1]) && f.length == 4)
            {
                LOG.warn("Rank 0 (stage attempt {}) dropped {} progress lines: the driver read them too slowly " +
                    "(training never waits for progress)", attempt, Long.parseLong(f[3]));
            }
        }
        catch (final NumberFormatException ex)
        {
            LOG.warn("Ignoring malformed progress line '{}'", line);
        }
    }

    /** A newer attempt's rank 0 connected: older attempts' connections are of no use any more. */
    private void hello(final Socket socket, final int attempt)
    {
        attempts.put(socket, attempt);
        if (!follower.follows(attempt))
        {
            drop(socket);
            return;
        }
        attempts.forEach((other, otherAttempt) ->
        {
            if (otherAttempt < attempt)
            {
                LOG.info("Closing the progress connection of stage attempt {}: attempt {} reports now",
                    otherAttempt, attempt);
                drop(other);
            }
        });
    }
}
