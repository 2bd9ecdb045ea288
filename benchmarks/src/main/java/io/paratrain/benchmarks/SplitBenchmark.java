package io.paratrain.benchmarks;

import io.paratrain.modelsplit.LayerRole;
import io.paratrain.gradientsharing.CollectiveConfig;
import io.paratrain.modelsplit.SplitConfig;
import io.paratrain.modelsplit.StepTraffic;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.dataset.DataSet;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * {@code bin/bench-split}: one wide MLP (784-4096-4096-10, batch 128, Adam by default), the same minibatches,
 * trained four ways in one run: single-process DL4J ({@code MultiLayerNetwork.fit}, this JVM, ND4J on both cores),
 * data parallel (N rank JVMs, each {@code ReplicaStep} on B/N examples, ring all-reduce of the gradient), model
 * split (N rank JVMs, {@code SplitRank}, the wide layers cut by columns) and model split with Megatron pairing
 * (consecutive wide layers cut by columns then rows). The last line reports the unpaired split. Rank JVMs run one ND4J/BLAS thread
 * each (N ranks share the 2 cores, as Spark executors would), talk over the same-host default transport (IPC),
 * and start every step after a barrier that is neither timed nor counted.
 * <p>
 * Bytes per step are measured: the sum over ranks of the collective's {@code bytesSent} during the step (frame
 * headers included), next to the analytic count ({@link StepTraffic}, {@link AllReduceTraffic}).
 * Step time is the median over the timed steps of the slowest rank's step. The last line is
 * {@code split shards=N bytes_per_step=<measured> dataparallel_bytes_per_step=<measured> step_ms=<x>
 * single_step_ms=<y>}.
 */
public final class SplitBenchmark
{
    private static final long RANK_DEADLINE_MS = TimeUnit.MINUTES.toMillis(10);
    private static final int FRAME_HEADER_BYTES = 48;

    private SplitBenchmark()
    {
    }

    /** Median step time and the bytes all ranks sent in one step (equal in every timed step, checked). */
    record Measured(double stepMs, long bytesPerStep, int chunkBytes)
    {
    }

    public static void main(final String[] args) throws Exception
    {
        final Options options = Options.parse(args);
        final int[] sizes = options.sizes;
        System.out.printf(Locale.ROOT, "model %s batch=%d shards=%d warmup=%d steps=%d (Adam, float; "
                + "rank JVMs: 1 BLAS thread each, IPC)%n", Arrays.toString(sizes), options.batch, options.shards,
            options.warmup, options.steps);

        final double singleMs = single(options);
        System.out.printf(Locale.ROOT, "single-process DL4J fit: step_ms=%.1f (this JVM, both cores)%n", singleMs);

        final Measured dataParallel = runRanks(options, "dataparallel");
        final long parameters = parameterCount(sizes);
        final long dataParallelAnalytic = AllReduceTraffic.perStep(options.shards, parameters,
            dataParallel.chunkBytes() / Float.BYTES, FRAME_HEADER_BYTES);
        System.out.printf(Locale.ROOT, "data-parallel %d workers: step_ms=%.1f bytes_per_step=%d analytic=%d "
                + "(all-reduce of %d gradient floats + 1 loss float)%n", options.shards, dataParallel.stepMs(),
            dataParallel.bytesPerStep(), dataParallelAnalytic, parameters);

        final SplitConfig split = SplitBenchRank.split(sizes, options.shards, options.splitThreshold);
        final Measured modelSplit = runRanks(options, "split");
        final long splitAnalytic = StepTraffic.perStep(options.shards, options.batch, traffic(sizes, split),
            modelSplit.chunkBytes() / 4 * 4, FRAME_HEADER_BYTES);
        System.out.printf(Locale.ROOT, "model-split %d shards, layers %s by columns: step_ms=%.1f "
                + "bytes_per_step=%d analytic=%d%n", options.shards, split.splitLayers(), modelSplit.stepMs(),
            modelSplit.bytesPerStep(), splitAnalytic);

        final SplitConfig paired = split.withPairing();
        final List<StepTraffic.Layer> pairedLayers = traffic(sizes, paired);
        final boolean anyPair = pairedLayers.stream().anyMatch(l -> l.role() == LayerRole.ROWS);
        Measured pairedSplit = null;
        long pairedAnalytic = 0;
        if (anyPair)
        {
            pairedSplit = runRanks(options, "split-paired");
            pairedAnalytic = StepTraffic.perStep(options.shards, options.batch, pairedLayers,
                pairedSplit.chunkBytes() / 4 * 4, FRAME_HEADER_BYTES);
            System.out.printf(Locale.ROOT, "model-split %d shards, paired (%s): step_ms=%.1f bytes_per_step=%d "
                    + "analytic=%d (%.1f%% of unpaired)%n", options.shards, roles(pairedLayers), pairedSplit.stepMs(),
                pairedSplit.bytesPerStep(), pairedAnalytic, 100.0 * pairedSplit.bytesPerStep()
                    / modelSplit.bytesPerStep());
        }
        else
        {
            System.out.println("model-split paired: no two consecutive split layers, nothing to pair");
        }

        report("data-parallel", dataParallel.bytesPerStep(), dataParallelAnalytic);
        report("model-split", modelSplit.bytesPerStep(), splitAnalytic);
        if (pairedSplit != null)
        {
            report("model-split paired", pairedSplit.bytesPerStep(), pairedAnalytic);
        }
        System.out.printf(Locale.ROOT, "split shards=%d bytes_per_step=%d dataparallel_bytes_per_step=%d "
                + "step_ms=%.1f single_step_ms=%.1f%n", options.shards, modelSplit.bytesPerStep(),
            dataParallel.bytesPerStep(), modelSplit.stepMs(), singleMs);
    }

    private static void report(final String what, final long measured, final long analytic)
    {
        if (measured != analytic)
        {
            System.out.printf("WARNING: %s measured %d bytes per step, the analytic count is %d%n", what, measured,
                analytic);
        }
    }

    private static double single(final Options options)
    {
        final MultiLayerNetwork network = new MultiLayerNetwork(SplitBenchRank.configuration(options.sizes));
        network.init();
        final List<DataSet> minibatches = SplitBenchRank.minibatches(options.sizes, options.batch);
        final double[] ms = new double[options.steps];
        for (int s = 0; s < options.warmup + options.steps; s++)
        {
            final long startNs = System.nanoTime();
            network.fit(minibatches.get(s % minibatches.size()));
            if (s >= options.warmup)
            {
                ms[s - options.warmup] = (System.nanoTime() - startNs) / 1e6;
            }
        }
        return median(ms);
    }

    static long parameterCount(final int[] sizes)
    {
        long count = 0;
        for (int l = 0; l < sizes.length - 1; l++)
        {
            count += (long)sizes[l] * sizes[l + 1] + sizes[l + 1];
        }
        return count;
    }

    private static List<StepTraffic.Layer> traffic(final int[] sizes, final SplitConfig split)
    {
        return StepTraffic.layers(Arrays.stream(sizes).asLongStream().toArray(), split);
    }

    private static String roles(final List<StepTraffic.Layer> layers)
    {
        final List<String> roles = new ArrayList<>();
        for (int l = 0; l < layers.size(); l++)
        {
            roles.add(l + ":" + layers.get(l).role().name().toLowerCase(Locale.ROOT));
        }
        return String.join(" ", roles);
    }

    private static Measured runRanks(final Options options, final String mode) throws Exception
    {
        System.err.printf("running %d rank JVMs: %s ...%n", options.shards, mode);
        final Path work = Files.createTempDirectory("paratrain-bench-split");
        final long session = ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE);
        final List<Process> processes = new ArrayList<>();
        try
        {
            for (int rank = 0; rank < options.shards; rank++)
            {
                processes.add(startRank(work, session, rank, options, mode));
            }
            final double[] slowest = new double[options.steps];
            final long[] bytes = new long[options.steps];
            int chunkBytes = 0;
            for (int rank = 0; rank < options.shards; rank++)
            {
                final Path log = work.resolve("rank-" + rank + ".log");
                if (!processes.get(rank).waitFor(RANK_DEADLINE_MS, TimeUnit.MILLISECONDS))
                {
                    throw new IllegalStateException(mode + " rank " + rank + " did not finish in " + RANK_DEADLINE_MS
                        + " ms; its output:\n" + Files.readString(log));
                }
                final List<String> lines = Files.readAllLines(log);
                if (processes.get(rank).exitValue() != 0)
                {
                    throw new IllegalStateException(mode + " rank " + rank + " exited with "
                        + processes.get(rank).exitValue() + ":\n" + String.join("\n", lines));
                }
                int step = 0;
                for (final String line : lines)
                {
                    final String[] fields = line.split(" ");
                    if (fields[0].equals("CHUNK"))
                    {
                        chunkBytes = Integer.parseInt(fields[1]);
                    }
                    else if (fields[0].equals("STEP"))
                    {
                        slowest[step] = Math.max(slowest[step], Double.parseDouble(fields[1]));
                        bytes[step] += Long.parseLong(fields[2]);
                        step++;
                    }
                }
                if (step != options.steps)
                {
                    throw new IllegalStateException(mode + " rank " + rank + " reported " + step + " steps, expected "
                        + options.steps + ":\n" + String.join("\n", lines));
                }
            }
            if (Arrays.stream(bytes).distinct().count() != 1)
            {
                throw new IllegalStateException(mode + ": bytes per step differ between steps: "
                    + Arrays.toString(bytes));
            }
            return new Measured(median(slowest), bytes[0], chunkBytes);
        }
        finally
        {
            for (final Process process : processes)
            {
                process.destroyForcibly();
                process.waitFor(10, TimeUnit.SECONDS);
            }
            Folders.deleteTree(work);
            // A rank that failed, or was destroyed above, leaves the shared media driver's folder behind.
            final Path driverDir = CollectiveConfig.builder(session).build().driverDir();
            if (Files.exists(driverDir))
            {
                Folders.deleteTree(driverDir);
            }
            Files.deleteIfExists(driverDir.resolveSibling(driverDir.getFileName() + ".lock"));
        }
    }

    private static Process startRank(final Path work, final long session, final int rank, final Options options,
        final String mode) throws IOException
    {
        final List<String> command = new ArrayList<>(List.of(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED",
            "-Xmx1g", "-cp", System.getProperty("java.class.path"),
            SplitBenchRank.class.getName(), mode, work.resolve("rendezvous").toString(), Long.toString(session),
            Integer.toString(rank), Integer.toString(options.shards),
            String.join(",", Arrays.stream(options.sizes).mapToObj(Integer::toString).toList()),
            Integer.toString(options.batch), Integer.toString(options.warmup), Integer.toString(options.steps),
            Long.toString(options.splitThreshold)));
        final ProcessBuilder builder = new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(work.resolve("rank-" + rank + ".log").toFile());
        builder.environment().put("OMP_NUM_THREADS", "1");
        return builder.start();
    }

    private static double median(final double[] values)
    {
        final double[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }

    record Options(int[] sizes, int batch, int shards, int warmup, int steps, long splitThreshold)
    {
        Options
        {
            if (sizes.length < 3 || Arrays.stream(sizes).anyMatch(s -> s < 1))
            {
                throw new IllegalArgumentException("--sizes " + Arrays.toString(sizes)
                    + ": expected at least input,hidden,output, all >= 1");
            }
            if (batch < shards || shards < 2 || shards > 8 || warmup < 0 || steps < 1)
            {
                throw new IllegalArgumentException("expected --shards 2..8, --batch >= shards, --warmup >= 0, "
                    + "--steps >= 1; found shards=" + shards + " batch=" + batch + " warmup=" + warmup + " steps="
                    + steps);
            }
        }

        static Options parse(final String[] args)
        {
            int[] sizes = {784, 4096, 4096, 10};
            int batch = 128;
            int shards = 2;
            int warmup = 3;
            int steps = 10;
            long threshold = 100_000;
            for (int i = 0; i < args.length; i++)
            {
                switch (args[i])
                {
                    case "--sizes" -> sizes = Arrays.stream(args[++i].split(",")).map(String::trim)
                        .mapToInt(Integer::parseInt).toArray();
                    case "--batch" -> batch = Integer.parseInt(args[++i]);
                    case "--shards" -> shards = Integer.parseInt(args[++i]);
                    case "--warmup" -> warmup = Integer.parseInt(args[++i]);
                    case "--steps" -> steps = Integer.parseInt(args[++i]);
                    case "--split-threshold" -> threshold = Long.parseLong(args[++i]);
                    case "--help", "-h" ->
                    {
                        System.out.println("""
                            usage: bin/bench-split [--sizes 784,4096,4096,10] [--batch 128] [--shards 2]
                                                   [--warmup 3] [--steps 10] [--split-threshold 100000]
                              Step time and bytes per step of single-process DL4J, data parallel (N rank JVMs)
                              and model split (N rank JVMs; layers with >= threshold weights split by columns).""");
                        System.exit(0);
                    }
                    default -> throw new IllegalArgumentException("unknown option " + args[i] + " (try --help)");
                }
            }
            return new Options(sizes, batch, shards, warmup, steps, threshold);
        }
    }
}
