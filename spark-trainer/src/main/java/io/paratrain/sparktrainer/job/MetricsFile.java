package io.paratrain.sparktrainer.job;

import io.paratrain.sparktrainer.ChannelReport;
import io.paratrain.sparktrainer.StepMetrics;
import io.paratrain.sparktrainer.TrainingListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * JSON lines, one per step ({@code "type":"step"}), per epoch, for the gradient channel's refused frames and for
 * the final evaluation.
 */
public final class MetricsFile implements TrainingListener, AutoCloseable
{
    private static final Logger LOG = LoggerFactory.getLogger(MetricsFile.class);

    private final BufferedWriter out;

    public MetricsFile(final Path path)
    {
        try
        {
            if (path.getParent() != null)
            {
                Files.createDirectories(path.getParent());
            }
            out = Files.newBufferedWriter(path, StandardCharsets.UTF_8);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot write the metrics file " + path, ex);
        }
    }

    @Override
    public void onStep(final StepMetrics m)
    {
        write(String.format(Locale.ROOT, "{\"type\":\"step\",\"epoch\":%d,\"step\":%d,\"global_step\":%d," +
            "\"examples\":%d,\"loss\":%.6g,\"step_ms\":%.3f,\"communication_ms\":%.3f,\"samples_per_s\":%.1f}",
            m.epoch(), m.step(), m.globalStep(), m.examples(), m.loss(), m.stepMs(), m.communicationMs(),
            m.examples() / (m.stepMs() / 1e3)));
    }

    @Override
    public void onEpochEnd(final int epoch, final double meanLoss, final double samplesPerSecond)
    {
        write(String.format(Locale.ROOT, "{\"type\":\"epoch\",\"epoch\":%d,\"mean_loss\":%.6g,\"samples_per_s\":%.1f}",
            epoch, meanLoss, samplesPerSecond));
    }

    public void evaluation(final double accuracy, final double precision, final double recall, final double f1)
    {
        write(String.format(Locale.ROOT, "{\"type\":\"evaluation\",\"accuracy\":%.6f,\"precision\":%.6f," +
            "\"recall\":%.6f,\"f1\":%.6f}", accuracy, precision, recall, f1));
    }

    /** An evaluation after {@code epochs} epochs, {@code globalSteps} steps (the charts place it there). */
    public void evaluation(final int epochs, final long globalSteps, final double accuracy, final double precision,
        final double recall, final double f1)
    {
        write(String.format(Locale.ROOT, "{\"type\":\"evaluation\",\"epochs\":%d,\"global_step\":%d," +
            "\"accuracy\":%.6f,\"precision\":%.6f,\"recall\":%.6f,\"f1\":%.6f}", epochs, globalSteps, accuracy,
            precision, recall, f1));
    }

    /** The gradient channel's security and the frames it refused, summed over ranks. */
    public void channel(final ChannelReport channel)
    {
        write(String.format(Locale.ROOT, "{\"type\":\"channel\",\"authenticated\":%b,\"rejected_mac_frames\":%d," +
            "\"foreign_session_frames\":%d}", channel.authenticated(), channel.rejectedMacFrames(),
            channel.foreignSessionFrames()));
    }

    private void write(final String line)
    {
        try
        {
            out.write(line);
            out.newLine();
            out.flush();
        }
        catch (final IOException ex)
        {
            LOG.warn("Could not write metrics: {}", ex.toString());
        }
    }

    @Override
    public void close()
    {
        try
        {
            out.close();
        }
        catch (final IOException ex)
        {
            LOG.warn("Could not close the metrics file: {}", ex.toString());
        }
    }
}
