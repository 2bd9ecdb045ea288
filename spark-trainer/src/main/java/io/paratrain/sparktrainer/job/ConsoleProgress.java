package io.paratrain.sparktrainer.job;

import io.paratrain.sparktrainer.StepMetrics;
import io.paratrain.sparktrainer.TrainingListener;

import java.io.PrintStream;
import java.util.Locale;

/**
 * Progress on the console: one live line rewritten in place on an interactive terminal, plain lines (about ten
 * per epoch) otherwise. Samples/s are over the last 20 steps; "comm" is the share of step time spent in the
 * all-reduce, waiting for peers included.
 */
public final class ConsoleProgress implements TrainingListener
{
    private static final int WINDOW = 20;

    private final PrintStream out;
    private final boolean interactive;
    private final int epochs;
    private final double[] stepMs = new double[WINDOW];
    private final int[] stepExamples = new int[WINDOW];
    private long steps;

    public ConsoleProgress(final PrintStream out, final boolean interactive, final int epochs)
    {
        this.out = out;
        this.interactive = interactive;
        this.epochs = epochs;
    }

    @Override
    public void onStep(final StepMetrics m)
    {
        final int slot = (int)(steps++ % WINDOW);
        stepMs[slot] = m.stepMs();
        stepExamples[slot] = m.examples();
        double ms = 0;
        long examples = 0;
        for (int i = 0; i < Math.min(steps, WINDOW); i++)
        {
            ms += stepMs[i];
            examples += stepExamples[i];
        }
        final String line = String.format(Locale.ROOT, "epoch %d/%d step %d/%d loss %.4f %,.0f samples/s comm %.0f%%",
            m.epoch() + 1, epochs, m.step() + 1, m.stepsPerEpoch(), m.loss(), examples / (ms / 1e3),
            100 * m.communicationShare());
        if (interactive)
        {
            out.print("\r" + line + "   ");
            out.flush();
        }
        else if ((m.step() + 1) % Math.max(1, m.stepsPerEpoch() / 10) == 0 || m.step() + 1 == m.stepsPerEpoch())
        {
            out.println(line);
        }
    }

    @Override
    public void onRewind(final int epoch, final int step, final long globalStep)
    {
        if (interactive)
        {
            out.println();
        }
        out.printf(Locale.ROOT, "Spark retried the training stage: resumed from the checkpoint at epoch %d/%d, " +
            "step %d%n", epoch + 1, epochs, step);
        steps = 0; // the samples/s window starts again with the resumed attempt's steps
    }

    @Override
    public void onEpochEnd(final int epoch, final double meanLoss, final double samplesPerSecond)
    {
        if (interactive)
        {
            out.println();
        }
        out.printf(Locale.ROOT, "epoch %d/%d done: mean loss %.4f, %,.0f samples/s%n", epoch + 1, epochs, meanLoss,
            samplesPerSecond);
    }
}
