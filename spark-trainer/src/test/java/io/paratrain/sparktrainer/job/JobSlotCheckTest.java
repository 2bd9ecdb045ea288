package io.paratrain.sparktrainer.job;

import io.paratrain.sparktrainer.SlotChecks;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.learning.config.Adam;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The job waits for the barrier stage's task slots before it reads the data, and the fit that follows does not check
 * again: one slot check per fit (before, the job's and the trainer's pipeline's: two); with --plot one for all the
 * per-epoch fits (before, the job's and one per epoch).
 */
@Timeout(300)
class JobSlotCheckTest
{
    @RegisterExtension
    static final InProcessJob JOB = new InProcessJob();

    @TempDir
    Path dir;

    @Test
    void theSlotsAreCheckedOncePerFit() throws Exception
    {
        final String[] args = mlpJob(1);
        final List<String> checks = SlotChecks.during(() -> assertEquals(0, JOB.train(dir, args)));
        assertEquals(List.of("training with 2 workers needs 2 task slots, the cluster has 2"), checks);
    }

    /** --plot trains one epoch per fit (EpochByEpoch): the job's one wait holds for all of them. */
    @Test
    void aPlotRunChecksTheSlotsOnceForAllItsEpochs() throws Exception
    {
        final List<String> args = new ArrayList<>(List.of(mlpJob(2)));
        args.addAll(List.of("--plot", dir.resolve("plots").toString()));
        final List<String> checks = SlotChecks.during(() ->
            assertEquals(0, JOB.train(dir, args.toArray(String[]::new))));
        assertEquals(List.of("training with 2 workers needs 2 task slots, the cluster has 2"), checks);
        // 2 epochs of 3 steps of 16 examples (the last of 8)
        assertTrue(JOB.out().contains("trained: 6 steps in "), JOB.out());
        assertTrue(JOB.out().contains("plots: " + dir.resolve("plots").resolve("loss.png")), JOB.out());
    }

    /** The job's options for an MLP on 40 CSV examples of 4 features and 3 classes: 2 workers x batch 8. */
    private String[] mlpJob(final int epochs) throws Exception
    {
        final Random random = new Random(3);
        final StringBuilder csv = new StringBuilder();
        for (int i = 0; i < 40; i++)
        {
            csv.append(random.nextInt(3));
            for (int f = 0; f < 4; f++)
            {
                csv.append(',').append(random.nextInt(65) / 64f);
            }
            csv.append('\n');
        }
        final Path train = Files.writeString(dir.resolve("train.csv"), csv);
        final Path json = Files.writeString(dir.resolve("mlp.json"), ModelSource.mlp(4, new int[] {8}, 3,
            new Adam(0.05), 1).toJson());
        return new String[] {"--model", json.toString(), "--train", train.toString(), "--workers", "2",
            "--batch-size", "8", "--epochs", String.valueOf(epochs)};
    }
}
