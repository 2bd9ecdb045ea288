package io.paratrain.sparktrainer.job;

import io.paratrain.sparktrainer.LocalSpark;
import io.paratrain.sparktrainer.NothingLeftBehind;
import io.paratrain.sparktrainer.internal.stage.BarrierSlots;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.Logger;
import org.apache.logging.log4j.core.appender.AbstractAppender;
import org.apache.logging.log4j.core.config.Property;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.learning.config.Adam;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The job waits for the barrier stage's task slots before it reads the data, and the fit that follows does not check
 * again: one slot check per fit (before, the job's and the trainer's pipeline's: two).
 */
@ExtendWith(NothingLeftBehind.class)
@Timeout(300)
class JobSlotCheckTest
{
    private static JavaSparkContext sc;

    @TempDir
    Path dir;

    @BeforeAll
    static void start()
    {
        sc = LocalSpark.start(2);
    }

    @AfterAll
    static void stop()
    {
        sc.stop();
        SparkSession.clearActiveSession();
        SparkSession.clearDefaultSession();
    }

    @Test
    void theSlotsAreCheckedOncePerFit() throws Exception
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
        final JobOptions options = JobOptions.parse(new String[] {"--model", json.toString(), "--train",
            train.toString(), "--workers", "2", "--batch-size", "8", "--epochs", "1", "--no-metrics", "--output",
            dir.resolve("model.zip").toString()});
        final List<String> checks = slotChecks(() -> assertEquals(0, TrainJob.train(sc, options,
            new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
            new PrintStream(new ByteArrayOutputStream()))));
        assertEquals(List.of("training with 2 workers needs 2 task slots, the cluster has 2"), checks);
    }

    /** BarrierSlots' line for each check (at debug level) while {@code job} runs. */
    private static List<String> slotChecks(final ThrowingRunnable job) throws Exception
    {
        final List<String> lines = Collections.synchronizedList(new ArrayList<>());
        final AbstractAppender appender = new AbstractAppender("slot-checks-" + System.nanoTime(), null, null, true,
            Property.EMPTY_ARRAY)
        {
            @Override
            public void append(final LogEvent event)
            {
                lines.add(event.getMessage().getFormattedMessage());
            }
        };
        appender.start();
        final Logger logger = (Logger)LogManager.getLogger(BarrierSlots.class);
        final Level level = logger.getLevel();
        logger.addAppender(appender);
        logger.setLevel(Level.DEBUG);
        try
        {
            job.run();
        }
        finally
        {
            logger.setLevel(level);
            logger.removeAppender(appender);
            appender.stop();
        }
        return new ArrayList<>(lines);
    }

    private interface ThrowingRunnable
    {
        void run() throws Exception;
    }
}
