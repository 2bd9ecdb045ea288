package io.paratrain.sparktrainer.job;

import io.paratrain.sparktrainer.LocalSpark;
import io.paratrain.sparktrainer.exceptions.TrainerConfigException;
import io.paratrain.sparktrainer.exceptions.TrainingInputException;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Test support for the job's tests: the job run in this JVM ({@link TrainJob#train}, as {@code bin/paratrain train}
 * runs it after building its Spark context) on one local Spark context per test class with 2 task slots, its console
 * output kept for the test. {@code @RegisterExtension static final InProcessJob JOB = new InProcessJob();} starts
 * the context before the class's tests and stops it after them, checking after each test and after the class that
 * nothing was left behind ({@link LocalSpark}); it clears the SparkSession that Parquet input creates on the context,
 * which would otherwise outlive it.
 */
final class InProcessJob implements BeforeAllCallback, AfterEachCallback, AfterAllCallback
{
    /** What the job writes in the test's folder: {@link #train}'s {@code --output}. */
    static final String MODEL = "model.zip";

    private final LocalSpark spark = new LocalSpark(2);
    private String out = "";

    /** The class's context, between its first {@code @BeforeAll} and its last {@code @AfterAll}. */
    JavaSparkContext sc()
    {
        return spark.sc();
    }

    /**
     * Runs the job with {@code args}, the model written to {@code folder}/{@link #MODEL}, no metrics file unless
     * {@code args} name one with --metrics; then {@link #out} holds what it printed (also when it throws).
     */
    int train(final Path folder, final String... args) throws Exception
    {
        final List<String> all = new ArrayList<>(List.of(args));
        all.addAll(List.of("--output", folder.resolve(MODEL).toString()));
        if (!all.contains("--metrics"))
        {
            all.add("--no-metrics");
        }
        final ByteArrayOutputStream stdout = new ByteArrayOutputStream();
        try
        {
            return TrainJob.train(sc(), JobOptions.parse(all.toArray(String[]::new)),
                new PrintStream(stdout, true, StandardCharsets.UTF_8), new PrintStream(new ByteArrayOutputStream()));
        }
        finally
        {
            out = stdout.toString(StandardCharsets.UTF_8);
        }
    }

    /** The standard output of the last {@link #train}. */
    String out()
    {
        return out;
    }

    /** The job refuses {@code args} with {@code message} before training, and writes no model into {@code folder}. */
    void assertRefused(final Path folder, final String message, final String... args)
    {
        final TrainingInputException error = assertThrows(TrainingInputException.class, () -> train(folder, args));
        assertEquals(message, error.getMessage());
        assertFalse(Files.exists(folder.resolve(MODEL)), "no model written");
        assertFalse(out.contains("trained:"), out);
    }

    /** {@link JobOptions#parse} refuses {@code args} with {@code message} (options that cannot go together). */
    static void assertOptionRefused(final String message, final String... args)
    {
        assertEquals(message, assertThrows(TrainerConfigException.class, () -> JobOptions.parse(args)).getMessage());
    }

    @Override
    public void beforeAll(final ExtensionContext context)
    {
        spark.beforeAll(context);
    }

    @Override
    public void afterEach(final ExtensionContext context) throws InterruptedException
    {
        spark.afterEach(context);
    }

    @Override
    public void afterAll(final ExtensionContext context) throws InterruptedException
    {
        try
        {
            spark.afterAll(context);
        }
        finally
        {
            SparkSession.clearActiveSession();
            SparkSession.clearDefaultSession();
        }
    }
}
