package io.paratrain.sparktrainer.job;

import io.paratrain.sparktrainer.MetricsFileCheck;
import io.paratrain.sparktrainer.StepMetrics;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** After a rewind (a stage retry resumed from a checkpoint) the file holds each step once, the resumed values. */
class MetricsFileTest
{
    private static final int STEPS = 10;

    @TempDir
    Path dir;

    private static StepMetrics step(final int epoch, final int step, final double loss)
    {
        return new StepMetrics(epoch, step, STEPS, (long)epoch * STEPS + step, 16, loss, 2.0, 0.5);
    }

    @Test
    void aRewindCutsTheFileBackToTheResumedStep() throws Exception
    {
        final Path path = dir.resolve("metrics.jsonl");
        try (MetricsFile file = new MetricsFile(path))
        {
            for (int s = 0; s < STEPS; s++)
            {
                file.onStep(step(0, s, 1.0 + s));
            }
            file.onEpochEnd(0, 5.5, 1000);
            for (int s = 0; s < 7; s++)
            {
                file.onStep(step(1, s, 2.0 + s)); // the failed attempt got to step 16
            }
            file.onRewind(1, 4, 14); // the retry resumed from the checkpoint after 14 steps
            for (int s = 4; s < STEPS; s++)
            {
                file.onStep(step(1, s, 3.0 + s));
            }
            file.onEpochEnd(1, 7.1, 1000); // (2 + 3 + 4 + 5 + 7 + 8 + 9 + 10 + 11 + 12) / 10
            file.evaluation(0.5, 0.5, 0.5, 0.5);
        }
        final List<Double> epoch1 = MetricsFileCheck.assertEachStepOnceAndEpochMeansCoverAllSteps(path, 2, STEPS)
            .get(1);
        assertEquals(List.of(2.0, 3.0, 4.0, 5.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0), epoch1);
        final List<String> lines = Files.readAllLines(path);
        assertEquals(2 * STEPS + 3, lines.size(), String.join("\n", lines));
        assertEquals("{\"type\":\"evaluation\",\"accuracy\":0.500000,\"precision\":0.500000,\"recall\":0.500000," +
            "\"f1\":0.500000}", lines.get(lines.size() - 1));
    }
}
