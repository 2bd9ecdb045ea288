package io.paratrain.sparktrainer.job;

import io.paratrain.sparktrainer.ChannelReport;
import io.paratrain.sparktrainer.StepMetrics;
import io.paratrain.sparktrainer.TrainingListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Locale;

/**
 * JSON lines, one per step ({@code "type":"step"}), per epoch, for the gradient channel's refused frames and for
 * the final evaluation (of a graph with several outputs: one {@code "type":"output_evaluation"} line per output).
 * Each line is written whole with one write. After a stage retry resumed from a checkpoint ({@link #onRewind}), the
 * file is cut back to the start of the first step reported again, so each step appears once, with the resumed
 * attempt's values, and the file stays valid JSON lines.
 */
public final class MetricsFile implements TrainingListener, AutoCloseable
{
    private static final Logger LOG = LoggerFactory.getLogger(MetricsFile.class);

    private final Path path;
    private final FileChannel out;
    /** Where each step's line starts, by global step (after rewinds: of the lines still in the file). */
    private long[] stepOffsets = new long[256];
    private long stepsWritten;

    public MetricsFile(final Path path)
    {
        this.path = path;
        try
        {
            if (path.getParent() != null)
            {
                Files.createDirectories(path.getParent());
            }
            out = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot write the metrics file " + path, ex);
        }
    }

    @Override
    public void onStep(final StepMetrics m)
    {
        rememberStepOffset(m.globalStep());
        write(String.format(Locale.ROOT, "{\"type\":\"step\",\"epoch\":%d,\"step\":%d,\"global_step\":%d," +
            "\"examples\":%d,\"loss\":%.6g,\"step_ms\":%.3f,\"communication_ms\":%.3f,\"samples_per_s\":%.1f}",
            m.epoch(), m.step(), m.globalStep(), m.examples(), m.loss(), m.stepMs(), m.communicationMs(),
            m.examples() / (m.stepMs() / 1e3)));
    }

    /** Cuts the file back to the line of step {@code globalStep}: it and everything after it are reported again. */
    @Override
    public void onRewind(final int epoch, final int step, final long globalStep)
    {
        if (globalStep >= stepsWritten)
        {
            return;
        }
        try
        {
            final long offset = stepOffsets[(int)globalStep];
            out.truncate(offset);
            out.position(offset);
            stepsWritten = globalStep;
        }
        catch (final IOException ex)
        {
            LOG.warn("Could not cut {} back to step {} after the stage retry: {}", path, globalStep, ex.toString());
        }
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

    /**
     * The test evaluation of a graph's classifier output {@code output} (one line per output of a graph with
     * several; a binary output's figures are means over its columns); {@code "type":"output_evaluation"}, which
     * the accuracy chart does not read.
     */
    public void classifierOutput(final String output, final double accuracy, final double precision,
        final double recall, final double f1)
    {
        write(String.format(Locale.ROOT, "{\"type\":\"output_evaluation\",\"output\":\"%s\",\"accuracy\":%.6f," +
            "\"precision\":%.6f,\"recall\":%.6f,\"f1\":%.6f}", jsonText(output), accuracy, precision, recall, f1));
    }

    /** As {@link #classifierOutput}, for a regression output: its MSE, MAE, RMSE and R^2, means over its columns. */
    public void regressionOutput(final String output, final double mse, final double mae, final double rmse,
        final double r2)
    {
        write(String.format(Locale.ROOT, "{\"type\":\"output_evaluation\",\"output\":\"%s\",\"mse\":%.6g," +
            "\"mae\":%.6g,\"rmse\":%.6g,\"r2\":%.6g}", jsonText(output), mse, mae, rmse, r2));
    }

    /** The gradient channel's security and the frames it refused, summed over ranks. */
    public void channel(final ChannelReport channel)
    {
        write(String.format(Locale.ROOT, "{\"type\":\"channel\",\"authenticated\":%b,\"rejected_mac_frames\":%d," +
            "\"foreign_session_frames\":%d}", channel.authenticated(), channel.rejectedMacFrames(),
            channel.foreignSessionFrames()));
    }

    private void rememberStepOffset(final long globalStep)
    {
        if (globalStep != stepsWritten || globalStep >= Integer.MAX_VALUE - 8)
        {
            return; // not the next step (a fit's second data set, or lines missed): rewinds cannot reach it
        }
        try
        {
            if (globalStep >= stepOffsets.length)
            {
                stepOffsets = Arrays.copyOf(stepOffsets, (int)Math.min(Integer.MAX_VALUE - 8, 2L * stepOffsets.length));
            }
            stepOffsets[(int)globalStep] = out.position();
            stepsWritten = globalStep + 1;
        }
        catch (final IOException ex)
        {
            LOG.warn("Could not read the position in {}: {}", path, ex.toString());
        }
    }

    /** {@code text} as the inside of a JSON string: a graph's vertex names may hold quotes or backslashes. */
    private static String jsonText(final String text)
    {
        final StringBuilder json = new StringBuilder(text.length());
        for (final char c : text.toCharArray())
        {
            if (c == '"' || c == '\\')
            {
                json.append('\\').append(c);
            }
            else if (c < 0x20)
            {
                json.append(String.format(Locale.ROOT, "\\u%04x", (int)c));
            }
            else
            {
                json.append(c);
            }
        }
        return json.toString();
    }

    private void write(final String line)
    {
        try
        {
            final ByteBuffer bytes = ByteBuffer.wrap((line + "\n").getBytes(StandardCharsets.UTF_8));
            while (bytes.hasRemaining())
            {
                out.write(bytes);
            }
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
