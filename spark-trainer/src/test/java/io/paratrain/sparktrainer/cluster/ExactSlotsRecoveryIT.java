package io.paratrain.sparktrainer.cluster;

import io.paratrain.sparktrainer.RawBits;
import io.aeron.CncFileDescriptor;
import io.paratrain.sparktrainer.MetricsFileCheck;
import io.paratrain.sparktrainer.internal.checkpoint.CheckpointStore;
import io.paratrain.sparktrainer.job.TrainJob;
import org.agrona.IoUtil;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.io.IOException;
import java.nio.MappedByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

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
 * Recovery with exactly as many task slots as workers: SIGKILL of the executor JVM that hosts the host's shared
 * Aeron media driver, mid-fit, after a checkpoint. The retried stage needs the surviving executor's slot, so the
 * surviving task must notice the loss in seconds (Spark's kill of the stage's tasks, the media driver's process
 * gone) instead of waiting out the collective's no-progress timeout (120 s by default, which this test keeps).
 * Measures kill to resumed step, and checks the resumed fit's model, metrics file and final loss.
 */
@Tag("slow")
@EnabledIfSystemProperty(named = "paratrain.assemblyJar", matches = ".+")
class ExactSlotsRecoveryIT
{
    private static final int WORKERS = 2;
    private static final int EPOCHS = 2;
    /**
     * Issue 13's target: 30 s from the kill to the first resumed step. Measured with only the tests running: 9.8
     * and 8.9 s. What remains after the fix is Spark starting the replacement executor, which took 25-45 s on this
     * 2-core machine while three other builds ran (31.5-61.2 s in all); such a machine can widen the bound with
     * {@code -Dparatrain.recovery.limitMs}. The figure is printed either way.
     */
    private static final long RESUME_LIMIT_MS = Long.getLong("paratrain.recovery.limitMs", 30_000);
    private static final Path SHM = Path.of("/dev/shm");
    private static final Pattern TIMELINE = Pattern.compile("TaskSetManager|DAGScheduler.*(failed|Resubmit|retry|" +
        "Retry|lost|Lost)|TaskSchedulerImpl|StandaloneSchedulerBackend|StandaloneAppClient");
    private static final Pattern TRAINED = Pattern.compile("trained: ([0-9,]+) steps in .* final loss ([0-9.]+)");

    @Test
    @Timeout(900)
    void killingTheExecutorThatHostsTheMediaDriverResumesWithin30SecondsOnExactSlots() throws Exception
    {
        final Path jar = Path.of(System.getProperty("paratrain.assemblyJar"));
        assertTrue(Files.isRegularFile(jar), jar + " is missing: the cluster tests need the assembly jar");
        Path root = null;
        try (StandaloneCluster cluster = StandaloneCluster.start(WORKERS))
        {
            root = cluster.root();
            try
            {
                killAndCheck(cluster, jar);
            }
            finally
            {
                keepLogs(root); // before close() deletes them: where the time between kill and resume went
            }
        }
        assertFalse(Files.exists(root), root + " was not deleted");
    }

    private static void killAndCheck(final StandaloneCluster cluster, final Path jar) throws Exception
    {
        final Path root = cluster.root();
        final Path clusterModel = root.resolve("recovered-model.zip");
        final Path checkpoints = root.resolve("checkpoints");
        final Path metrics = root.resolve("paratrain-metrics.jsonl");
        final List<String> training = List.of("--epochs", String.valueOf(EPOCHS), "--workers",
            String.valueOf(WORKERS), "--batch-size", "64", "--seed", "13");
        final List<String> args = new ArrayList<>(List.of("train"));
        args.addAll(training);
        // the collective's timeout stays at its default (120 s): recovery must not depend on it
        args.addAll(List.of("--output", clusterModel.toString(), "--metrics", metrics.toString(),
            "--checkpoint-dir", checkpoints.toString(), "--checkpoint-every-steps", "10"));
        final StandaloneCluster.Driver driver = cluster.startSubmit("exact-slots", List.of(
            "-Dlog4j2.configurationFile=" + CONF.resolve("log4j2-cluster.properties")),
            CONF.resolve("spark-defaults-standalone.conf"), loopbackConf(cluster), jar, TrainJob.class.getName(),
            args);

        final long deadlineNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(400);
        while (!Files.exists(checkpoints.resolve(CheckpointStore.fileName(20))))
        {
            assertTrue(driver.process().isAlive(), "the job ended before the kill:\n" +
                tail(Files.readString(driver.log())));
            assertTrue(System.nanoTime() < deadlineNs, "no checkpoint after 20 steps in 400 s");
            Thread.sleep(100);
        }
        final ProcessHandle host = mediaDriverHost(cluster.executorProcesses()).orElseThrow(() ->
            new AssertionError("no executor of this cluster runs a media driver in " + SHM));
        final long killedAtMs = System.currentTimeMillis();
        host.destroyForcibly();
        host.onExit().get(30, TimeUnit.SECONDS);

        final StandaloneCluster.Submission run = driver.await(600_000);
        run.output().lines().filter(l -> TIMELINE.matcher(l).find())
            .forEach(l -> System.out.println("driver: " + l.substring(0, Math.min(l.length(), 400))));
        assertTrue(run.exited(), "the driver did not exit:\n" + tail(run.output()));
        assertEquals(0, run.exitCode(), tail(run.output()));

        final Matcher resumed = lastMatch(RESUMED, cluster.executorLogs().values());
        assertTrue(resumed != null, "no rank resumed after a retry; driver:\n" + tail(run.output()));
        final long resumedStep = Long.parseLong(resumed.group(2));
        assertTrue(resumedStep >= 20, "resumed at step " + resumedStep + ", before the checkpoint seen at 20");
        final long killToResumeMs = epochMillis(resumed.group(1)) - killedAtMs;
        System.out.printf("exact slots (%d executors, %d workers): killed the executor running the media driver " +
            "(pid %d); rank 0 resumed from step %d %.1f s later; job %.1f s%n", WORKERS, WORKERS, host.pid(),
            resumedStep, killToResumeMs / 1000.0, run.seconds());

        // the model is an uninterrupted run's, bit for bit
        final MultiLayerNetwork onCluster = ModelSerializer.restoreMultiLayerNetwork(clusterModel.toFile());
        final MultiLayerNetwork inLocalMode = ModelSerializer.restoreMultiLayerNetwork(
            StandaloneClusterIT.trainInLocalMode(root, training, "exact-slots-local-model.zip").toFile());
        assertArrayEquals(RawBits.of(inLocalMode.params().toFloatVector()),
            RawBits.of(onCluster.params().toFloatVector()),
            "the resumed cluster run trained different parameters than an uninterrupted local run");
        assertArrayEquals(RawBits.of(inLocalMode.getUpdater().getStateViewArray().toFloatVector()),
            RawBits.of(onCluster.getUpdater().getStateViewArray().toFloatVector()), "updater state");

        // progress followed the resumed attempt: each step once, epoch means over all steps, the last loss printed
        final Matcher trained = TRAINED.matcher(run.output());
        assertTrue(trained.find(), tail(run.output()));
        final int stepsPerEpoch = Integer.parseInt(trained.group(1).replace(",", "")) / EPOCHS;
        final List<Double> lastEpoch = MetricsFileCheck.assertEachStepOnceAndEpochMeansCoverAllSteps(metrics,
            EPOCHS, stepsPerEpoch).lastEntry().getValue();
        assertEquals(String.format(java.util.Locale.ROOT, "%.4f", lastEpoch.get(lastEpoch.size() - 1)),
            trained.group(2), "the final loss printed is not the last step's in the metrics file");

        assertTrue(killToResumeMs < RESUME_LIMIT_MS, "resumed " + killToResumeMs + " ms after the kill, limit " +
            RESUME_LIMIT_MS + " ms");
    }

    /** The cluster's logs (driver, Master, Worker, executors) to target/exact-slots-logs, replacing older ones. */
    private static void keepLogs(final Path root) throws IOException
    {
        final Path kept = Files.createDirectories(Path.of("target", "exact-slots-logs"));
        try (Stream<Path> old = Files.list(kept))
        {
            for (final Path file : old.toList())
            {
                Files.delete(file);
            }
        }
        try (Stream<Path> files = Files.walk(root))
        {
            for (final Path file : files.filter(f -> f.toString().endsWith(".log") ||
                f.getFileName().toString().equals("stderr")).toList())
            {
                Files.copy(file, kept.resolve(root.relativize(file).toString().replace('/', '_')));
            }
        }
        System.out.println("cluster logs kept in " + kept.toAbsolutePath());
    }

    /** The executor whose JVM runs the media driver the ranks share (its pid is in the driver's CnC file). */
    private static Optional<ProcessHandle> mediaDriverHost(final List<ProcessHandle> executors) throws IOException
    {
        final Set<Long> pids = executors.stream().map(ProcessHandle::pid).collect(Collectors.toSet());
        try (Stream<Path> dirs = Files.list(SHM))
        {
            for (final Path dir : dirs.filter(d -> d.getFileName().toString().startsWith("paratrain-aeron-") &&
                Files.isRegularFile(d.resolve(CncFileDescriptor.CNC_FILE))).toList())
            {
                final long pid = driverPid(dir.resolve(CncFileDescriptor.CNC_FILE));
                if (pids.contains(pid))
                {
                    return executors.stream().filter(e -> e.pid() == pid).findFirst();
                }
            }
        }
        return Optional.empty();
    }

    private static long driverPid(final Path cnc)
    {
        final MappedByteBuffer buffer = IoUtil.mapExistingFile(cnc.toFile(), "cnc");
        try
        {
            return CncFileDescriptor.pid(CncFileDescriptor.createMetaDataBuffer(buffer));
        }
        finally
        {
            IoUtil.unmap(buffer);
        }
    }
}
