package io.paratrain.sparktrainer.cluster;

import io.paratrain.sparktrainer.internal.checkpoint.CheckpointStore;
import io.paratrain.sparktrainer.job.TrainJob;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static io.paratrain.sparktrainer.cluster.ClusterRuns.CONF;
import static io.paratrain.sparktrainer.cluster.ClusterRuns.RESUMED;
import static io.paratrain.sparktrainer.cluster.ClusterRuns.epochMillis;
import static io.paratrain.sparktrainer.cluster.ClusterRuns.lastMatch;
import static io.paratrain.sparktrainer.cluster.ClusterRuns.loopbackConf;
import static io.paratrain.sparktrainer.cluster.ClusterRuns.tail;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A stalled peer on a real (loopback) standalone cluster: rank 1's executor JVM is paused with SIGSTOP in the
 * middle of a data-parallel fit with checkpoints. Nothing dies, so Spark sees no failure by itself; the other
 * rank's collective deadline must fire, name the silent rank, fail the barrier stage, and Spark's retry must
 * resume from the newest checkpoint on the spare executor while the paused one still holds its slot. The driver's
 * short heartbeat timeout then drops the paused executor, so the application ends instead of waiting for it.
 */
@Tag("slow")
@EnabledIfSystemProperty(named = "paratrain.assemblyJar", matches = ".+")
class StalledPeerClusterIT
{
    /** The executor paused by the test: resumed and killed in cleanup whatever happens. */
    private ProcessHandle paused;
    /** Two replicas and a spare: the retry runs while the paused executor still holds its slot. */
    private static final int EXECUTORS = 3;
    private static final int COLLECTIVE_TIMEOUT_S = 10;

    private static final Pattern TIMELINE = Pattern.compile("TaskSetManager|DAGScheduler.*(failed|Resubmit|retry|" +
        "Retry|lost|Lost)|TaskSchedulerImpl|HeartbeatReceiver|StandaloneSchedulerBackend|StandaloneAppClient");

    @Test
    @Timeout(900)
    void aPausedExecutorFailsTheStageOnTheCollectiveDeadlineAndTheRetryResumesFromACheckpoint() throws Exception
    {
        final Path jar = Path.of(System.getProperty("paratrain.assemblyJar"));
        assertTrue(Files.isRegularFile(jar), jar + " is missing: the cluster tests need the assembly jar");
        Path root = null;
        try (StandaloneCluster cluster = StandaloneCluster.start(EXECUTORS))
        {
            root = cluster.root();
            try
            {
                pauseAndCheck(cluster, jar);
            }
            catch (final AssertionError | Exception ex)
            {
                keepLogs(root); // before close() deletes them
                throw ex;
            }
        }
        finally
        {
            if (paused != null && paused.isAlive())
            {
                signal("CONT", paused);
                paused.destroyForcibly();
                paused.onExit().get(30, TimeUnit.SECONDS);
            }
        }
        assertFalse(paused.isAlive(), "the paused executor " + paused.pid() + " is still running");
        assertFalse(Files.exists(root), root + " was not deleted");
    }

    /** Submits the job, pauses rank 1's executor after step 20 and checks what the driver and executors report. */
    private void pauseAndCheck(final StandaloneCluster cluster, final Path jar) throws Exception
    {
        final Path root = cluster.root();
        final Path clusterModel = root.resolve("stalled-model.zip");
        final Path checkpoints = root.resolve("checkpoints");
        final List<String> training = List.of("--epochs", "2", "--workers", "2", "--batch-size", "64",
            "--seed", "11");
        final List<String> args = new ArrayList<>(List.of("train"));
        args.addAll(training);
        args.addAll(List.of("--output", clusterModel.toString(), "--no-metrics", "--checkpoint-dir",
            checkpoints.toString(), "--checkpoint-every-steps", "10", "--collective-timeout-seconds",
            String.valueOf(COLLECTIVE_TIMEOUT_S)));
        final StandaloneCluster.Driver driver = cluster.startSubmit("stalled", List.of(
            "-Dlog4j2.configurationFile=" + CONF.resolve("log4j2-cluster.properties")),
            CONF.resolve("spark-defaults-standalone.conf"), conf(cluster), jar, TrainJob.class.getName(), args);

        // after the checkpoint at step 20, pause the executor of rank 1 (rank 0 writes the checkpoints) in the
        // newest stage attempt
        final long deadlineNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(400);
        while (!Files.exists(checkpoints.resolve(CheckpointStore.fileName(20))))
        {
            assertTrue(driver.process().isAlive(), "the job ended before the pause:\n" +
                tail(Files.readString(driver.log())));
            assertTrue(System.nanoTime() < deadlineNs, "no checkpoint after 20 steps in 400 s");
            Thread.sleep(200);
        }
        final Path rank1Log = newestRank1Log(cluster);
        final String executorId = rank1Log.getParent().getFileName().toString();
        paused = cluster.executorProcess(executorId).orElseThrow();
        final long pausedAtMs = System.currentTimeMillis();
        signal("STOP", paused);

        final StandaloneCluster.Submission run = driver.await(600_000);
        // the driver's view, for the record: task failures, stage retries, the executor dropped
        run.output().lines().filter(l -> TIMELINE.matcher(l).find())
            .forEach(l -> System.out.println("driver: " + l.substring(0, Math.min(l.length(), 700))));
        assertTrue(run.exited(), "the driver hung with a paused executor:\n" + tail(run.output()));
        assertEquals(0, run.exitCode(), tail(run.output()));
        assertTrue(run.output().lines().anyMatch(l -> l.matches("accuracy=0\\.[0-9]{4}")), tail(run.output()));

        // What the driver reports: rank 0's task failed on the collective deadline, naming the paused rank.
        final Pattern lost = Pattern.compile("Lost task 0\\.0 in stage .*CollectiveTimeoutException: " +
            "\\S+ on rank 0: no progress from rank 1 for (\\d+) ms");
        final Matcher lostTask = lost.matcher(run.output());
        assertTrue(lostTask.find(), "the driver did not report rank 0's collective timeout:\n" +
            tail(run.output()));
        final long waitedMs = Long.parseLong(lostTask.group(1));
        assertTrue(waitedMs >= COLLECTIVE_TIMEOUT_S * 1000L && waitedMs < COLLECTIVE_TIMEOUT_S * 1000L + 1000,
            "rank 0 waited " + waitedMs + " ms");

        // the retried attempt resumed from the checkpoint at step 20 or later, never from step 0
        final Matcher resumed = lastMatch(RESUMED, cluster.executorLogs().values());
        assertTrue(resumed != null, "no rank resumed after the retry; driver:\n" + tail(run.output()));
        final long resumedStep = Long.parseLong(resumed.group(2));
        assertTrue(resumedStep >= 20, "resumed at step " + resumedStep + ", before the checkpoint seen at 20");
        final long resumedAtMs = epochMillis(resumed.group(1));
        System.out.printf("executor %s (rank 1) paused; rank 0 timed out after %d ms; resumed from step %d " +
            "%.1f s after the pause; job %.1f s%n", executorId, waitedMs, resumedStep,
            (resumedAtMs - pausedAtMs) / 1000.0, run.seconds());

        // nothing trained before the pause was lost or repeated: the model is an uninterrupted run's
        final MultiLayerNetwork onCluster = ModelSerializer.restoreMultiLayerNetwork(clusterModel.toFile());
        final MultiLayerNetwork inLocalMode = ModelSerializer.restoreMultiLayerNetwork(
            trainInLocalMode(root, training).toFile());
        assertArrayEquals(inLocalMode.params().toFloatVector(), onCluster.params().toFloatVector(),
            "the resumed cluster run trained different parameters than an uninterrupted local run");
    }

    /** The template's settings, what a loopback cluster needs, and a short executor heartbeat timeout. */
    private static Map<String, String> conf(final StandaloneCluster cluster)
    {
        final Map<String, String> conf = loopbackConf(cluster);
        // A paused executor sends no heartbeats: the driver drops it after 30 s (default 120 s) instead of
        // keeping its slot and, at the end, waiting for it to stop.
        conf.put("spark.network.timeout", "30s");
        conf.put("spark.executor.heartbeatInterval", "3s");
        conf.put("spark.network.timeoutInterval", "5s"); // how often the driver looks for silent executors
        return conf;
    }

    /** The executor log with the newest "Rank 1: Spark scheduled GPU" line (its stage attempt writes now). */
    private static Path newestRank1Log(final StandaloneCluster cluster) throws IOException
    {
        final Pattern line = Pattern.compile("(\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\.\\d{3}) .*" +
            "Rank 1: Spark scheduled GPU");
        Path newest = null;
        String newestAt = "";
        for (final Map.Entry<Path, String> log : cluster.executorLogs().entrySet())
        {
            final Matcher m = line.matcher(log.getValue());
            while (m.find())
            {
                if (m.group(1).compareTo(newestAt) > 0)
                {
                    newestAt = m.group(1);
                    newest = log.getKey();
                }
            }
        }
        assertTrue(newest != null, "no executor logged rank 1");
        return newest;
    }

    /** On failure: the cluster's logs (driver, Master, Worker, executors) to target/stalled-peer-logs. */
    private static void keepLogs(final Path root) throws IOException
    {
        if (root == null || !Files.isDirectory(root))
        {
            return;
        }
        final Path kept = Files.createDirectories(Path.of("target", "stalled-peer-logs"));
        try (java.util.stream.Stream<Path> files = Files.walk(root))
        {
            for (final Path file : files.filter(f -> f.toString().endsWith(".log") ||
                f.getFileName().toString().equals("stderr")).toList())
            {
                Files.copy(file, kept.resolve(root.relativize(file).toString().replace('/', '_')),
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
        }
        System.out.println("cluster logs kept in " + kept.toAbsolutePath());
    }

    private static void signal(final String signal, final ProcessHandle process)
        throws IOException, InterruptedException
    {
        final Process kill = new ProcessBuilder("kill", "-" + signal, String.valueOf(process.pid()))
            .redirectErrorStream(true).start();
        assertTrue(kill.waitFor(10, TimeUnit.SECONDS), "kill -" + signal + " did not return");
        assertEquals(0, kill.exitValue(), "kill -" + signal + " " + process.pid() + ": " +
            new String(kill.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
    }

    /** The same job arguments in local mode in this JVM (local[2]): an uninterrupted run. */
    private static Path trainInLocalMode(final Path root, final List<String> training)
    {
        final Path localModel = root.resolve("stalled-local-model.zip");
        final List<String> args = new ArrayList<>(List.of("train"));
        args.addAll(training);
        args.addAll(List.of("--output", localModel.toString(), "--no-metrics", "--master", "local[2]"));
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (PrintStream print = new PrintStream(out, true, StandardCharsets.UTF_8))
        {
            assertEquals(0, TrainJob.run(args.toArray(String[]::new), print, print), out.toString());
        }
        return localModel;
    }
}
