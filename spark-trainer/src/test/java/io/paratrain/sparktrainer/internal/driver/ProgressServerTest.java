package io.paratrain.sparktrainer.internal.driver;

import io.paratrain.sparktrainer.StepMetrics;
import io.paratrain.sparktrainer.TrainingListener;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The driver follows the newest stage attempt: a failed attempt's rank 0 whose connection is still open neither
 * blocks the retried attempt's lines nor gets its own late lines through; the retried attempt's replayed steps
 * replace the failed attempt's after a rewind, and the epoch's mean covers all its steps.
 */
@Timeout(60)
class ProgressServerTest
{
    private static final String TOKEN = "0123456789abcdef";
    private static final int STEPS = 15;

    /** Every event, as text, in the order the listeners got them; and the step losses. */
    private static final class Recorder implements TrainingListener
    {
        final List<String> events = new ArrayList<>();
        final List<Double> stepLosses = new ArrayList<>();
        final List<Double> epochMeans = new ArrayList<>();

        @Override
        public synchronized void onStep(final StepMetrics m)
        {
            events.add("step " + m.globalStep());
            while (stepLosses.size() > m.globalStep())
            {
                stepLosses.remove(stepLosses.size() - 1);
            }
            stepLosses.add(m.loss());
        }

        @Override
        public synchronized void onEpochEnd(final int epoch, final double meanLoss, final double samplesPerSecond)
        {
            events.add("epoch " + epoch);
            epochMeans.add(meanLoss);
        }

        @Override
        public synchronized void onRewind(final int epoch, final int step, final long globalStep)
        {
            events.add("rewind " + epoch + " " + step + " " + globalStep);
        }

        synchronized int size()
        {
            return events.size();
        }
    }

    private static double loss(final int attempt, final int step)
    {
        return 1.0 / (step + 3) + attempt * 1e-3;
    }

    private static StepMetrics step(final int attempt, final int step)
    {
        return new StepMetrics(0, step, STEPS, step, 16, loss(attempt, step), 2.5, 0.5);
    }

    @Test
    void aRetriedAttemptsLinesReplaceTheFailedOnesWhileItsConnectionIsStillOpen() throws Exception
    {
        final Recorder recorder = new Recorder();
        final ProgressServer server = new ProgressServer("127.0.0.1", TOKEN, List.of(recorder));
        final ProgressReporter failed = new ProgressReporter(server.address(), TOKEN, 0);
        try
        {
            for (int s = 0; s < 10; s++)
            {
                failed.step(step(0, s));
            }
            awaitEvents(recorder, 10);
            // attempt 0's rank 0 is stuck (its task not killed yet) and keeps its connection; attempt 1 resumes
            // from the checkpoint after step 8
            try (ProgressReporter resumed = new ProgressReporter(server.address(), TOKEN, 1))
            {
                for (int s = 8; s < STEPS; s++)
                {
                    resumed.step(step(1, s));
                }
                double attemptSum = 0;
                for (int s = 8; s < STEPS; s++)
                {
                    attemptSum += loss(1, s);
                }
                resumed.epoch(0, attemptSum / (STEPS - 8), 1000);
                awaitEvents(recorder, 10 + 1 + (STEPS - 8) + 1);
            }
            failed.step(step(0, 10)); // too late: attempt 1 reports now
            failed.epoch(0, 99, 1000);
        }
        finally
        {
            failed.close();
            server.close();
        }
        final List<String> expected = new ArrayList<>();
        for (int s = 0; s < 10; s++)
        {
            expected.add("step " + s);
        }
        expected.add("rewind 0 8 8");
        for (int s = 8; s < STEPS; s++)
        {
            expected.add("step " + s);
        }
        expected.add("epoch 0");
        assertEquals(expected, recorder.events);
        double sum = 0;
        for (int s = 0; s < STEPS; s++)
        {
            final double loss = loss(s < 8 ? 0 : 1, s);
            assertEquals(loss, recorder.stepLosses.get(s), "step " + s);
            sum += loss;
        }
        // over all 15 steps, in step order: 8 of the failed attempt (the checkpoint's past), 7 of the resumed one
        assertEquals(List.of(sum / STEPS), recorder.epochMeans);
    }

    private static void awaitEvents(final Recorder recorder, final int count) throws InterruptedException
    {
        final long deadlineNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (recorder.size() < count)
        {
            assertTrue(System.nanoTime() < deadlineNs, "the server delivered " + recorder.events + ", expected " +
                count + " events");
            Thread.sleep(5);
        }
    }
}
