package io.paratrain.benchmarks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code bin/bench-train}: the same models on the same bundled data for the same epochs, one JVM per run:
 * plain DL4J in one JVM (batch N x b, ND4J on both cores), Paratrain's all-reduce with N workers, DL4J's
 * ParameterAveragingTrainingMaster with N workers, and DL4J's SharedTrainingMaster with N workers (in a JVM with
 * its own classpath: it needs Aeron 1.32; bounded time). Prints each run's line, then one line per
 * other model {@code train model=<name> allreduce_vs_single=<ratio> allreduce_vs_paramavg=<ratio>}, and, last,
 * for the headline model, {@code train allreduce_vs_single=<ratio> allreduce_vs_paramavg=<ratio>}.
 * <p>
 * The single JVM and the all-reduce runs, whose ratio is the close one, alternate {@code --repeats} times
 * (default 3) and are compared by their medians: on this shared 2-core machine the same all-reduce fit took
 * anywhere from 7.2 to 10.4 s within an hour. Each repeated run prints its line with {@code run=k/N}, then the
 * median run's line follows with {@code median_of=N}.
 * <p>
 * For the CNN a third mode alternates with those two: the all-reduce with DL4J's own im2col op in its convolution
 * layers ({@code allreduce-dl4j-im2col}), the convolution code the single JVM and parameter averaging run, so that
 * the all-reduce's gain from its direct im2col and its gain from the way it trains in parallel show apart; its
 * ratios follow the model's line: {@code train model=lenet allreduce-dl4j-im2col allreduce_vs_single=..}.
 */
public final class TrainBenchmark
{
    private static final Pattern SPEED = Pattern.compile(" samples_per_s=([0-9.]+)");
    /** The all-reduce with DL4J's own im2col op in its convolution layers (TrainerConfig.directIm2col(false)). */
    private static final String DL4J_IM2COL = "allreduce-dl4j-im2col";
    private static final Pattern STEADY_SPEED = Pattern.compile("last_epoch_samples_per_s=([0-9.]+)");

    /**
     * A model to train: its name in the output, its architecture as {@link BenchModels} names it, and at most how
     * many epochs (the CNN's CPU epoch takes ~10x an MLP's, so it trains 2 where the MLPs train 5).
     */
    private record Model(String name, String architecture, int batchPerWorker, int maxEpochs)
    {
    }

    /** Every model, the headline first; {@code --models} picks some of them by name. */
    private static final List<Model> MODELS = List.of(
        new Model("mlp-784-1000-500-10", "1000,500", 128, Integer.MAX_VALUE),
        new Model("mlp-784-256-10", "256", 32, Integer.MAX_VALUE),
        new Model("lenet", BenchModels.LENET, 64, 2),
        new Model(BenchModels.GRAPH_BN, BenchModels.GRAPH_BN, 64, Integer.MAX_VALUE));

    private TrainBenchmark()
    {
    }

    public static void main(final String[] args) throws Exception
    {
        int workers = 2;
        int epochs = 5;
        int repeats = 3;
        long sharedLimitS = 180;
        String sharedClasspath = null;
        String sharedFlags = "";
        List<String> names = MODELS.stream().map(Model::name).toList();
        for (int i = 0; i < args.length; i++)
        {
            switch (args[i])
            {
                case "--workers" -> workers = Integer.parseInt(args[++i]);
                case "--epochs" -> epochs = Integer.parseInt(args[++i]);
                case "--repeats" -> repeats = Integer.parseInt(args[++i]);
                case "--shared-time-limit-s" -> sharedLimitS = Long.parseLong(args[++i]);
                case "--shared-classpath" -> sharedClasspath = args[++i];
                case "--shared-jvm-flags" -> sharedFlags = args[++i];
                case "--models" -> names = List.of(args[++i].split(","));
                case "--help", "-h" ->
                {
                    System.out.println("usage: bin/bench-train [--workers 2] [--epochs 5] [--repeats 3] " +
                        "[--shared-time-limit-s 180] [--models " + String.join(",", names) + "]");
                    return;
                }
                default -> throw new IllegalArgumentException("unknown option " + args[i] + " (try --help)");
            }
        }
        final List<Model> models = selected(names);
        if (repeats < 1)
        {
            throw new IllegalArgumentException("--repeats " + repeats + ": expected at least 1");
        }
        final Map<String, Double> speed = new HashMap<>();
        final Map<String, Double> steadySpeed = new HashMap<>();
        for (final Model model : models)
        {
            final Map<String, List<String>> lines = new HashMap<>();
            // a CNN also trains with DL4J's own im2col in the replicas: the conv code single and paramavg run
            final List<String> ownModes = BenchModels.LENET.equals(model.architecture()) ?
                List.of("single", "allreduce", DL4J_IM2COL) : List.of("single", "allreduce");
            for (int run = 1; run <= repeats; run++)
            {
                for (final String mode : ownModes)
                {
                    final String line = runOwnJvm(model, mode, workers, epochs);
                    System.out.println(repeats == 1 ? line : line + " run=" + run + "/" + repeats);
                    lines.computeIfAbsent(mode, m -> new ArrayList<>()).add(line);
                }
            }
            lines.put("paramavg", List.of(runOwnJvm(model, "paramavg", workers, epochs)));
            for (final String mode : concat(ownModes, "paramavg"))
            {
                final List<String> runs = lines.get(mode);
                final String median = median(runs);
                if (runs.size() > 1)
                {
                    System.out.println(median + " median_of=" + runs.size());
                }
                else
                {
                    System.out.println(median);
                }
                speed.put(model.name() + "/" + mode, speedOf(SPEED, median));
                steadySpeed.put(model.name() + "/" + mode, medianOf(runs, STEADY_SPEED));
            }
            System.out.println(runShared(model, workers, epochs, sharedClasspath, sharedFlags, sharedLimitS));
        }
        final String headline = MODELS.get(0).name();
        for (final Model model : models)
        {
            if (model.name().equals(headline))
            {
                continue;
            }
            System.out.printf(Locale.ROOT, "train model=%s allreduce_vs_single=%.3f allreduce_vs_paramavg=%.3f%n",
                model.name(), speed.get(model.name() + "/allreduce") / speed.get(model.name() + "/single"),
                speed.get(model.name() + "/allreduce") / speed.get(model.name() + "/paramavg"));
            if (speed.containsKey(model.name() + "/" + DL4J_IM2COL))
            {
                System.out.printf(Locale.ROOT, "train model=%s %s allreduce_vs_single=%.3f " +
                    "allreduce_vs_paramavg=%.3f%n", model.name(), DL4J_IM2COL,
                    speed.get(model.name() + "/" + DL4J_IM2COL) / speed.get(model.name() + "/single"),
                    speed.get(model.name() + "/" + DL4J_IM2COL) / speed.get(model.name() + "/paramavg"));
            }
        }
        if (!speed.containsKey(headline + "/allreduce"))
        {
            return; // --models without the headline model
        }
        // The same ratios over the last epoch only: without the per-fit start-up and the JIT warm-up.
        System.out.printf(Locale.ROOT, "train last_epoch allreduce_vs_single=%.3f allreduce_vs_paramavg=%.3f%n",
            steadySpeed.get(headline + "/allreduce") / steadySpeed.get(headline + "/single"),
            steadySpeed.get(headline + "/allreduce") / steadySpeed.get(headline + "/paramavg"));
        System.out.printf(Locale.ROOT, "train allreduce_vs_single=%.3f allreduce_vs_paramavg=%.3f%n",
            speed.get(headline + "/allreduce") / speed.get(headline + "/single"),
            speed.get(headline + "/allreduce") / speed.get(headline + "/paramavg"));
    }

    private static List<String> concat(final List<String> modes, final String last)
    {
        final List<String> all = new ArrayList<>(modes);
        all.add(last);
        return all;
    }

    private static List<Model> selected(final List<String> names)
    {
        final List<Model> models = MODELS.stream().filter(model -> names.contains(model.name())).toList();
        if (models.size() != new java.util.HashSet<>(names).size())
        {
            throw new IllegalArgumentException("--models " + String.join(",", names) + ": expected names among " +
                MODELS.stream().map(Model::name).toList());
        }
        return models;
    }

    private static String runOwnJvm(final Model model, final String mode, final int workers, final int allEpochs)
        throws IOException, InterruptedException
    {
        final int epochs = Math.min(allEpochs, model.maxEpochs());
        final List<String> command = java(System.getProperty("java.class.path"), jvmFlags());
        command.addAll(List.of(TrainRun.class.getName(), mode, model.name(), model.architecture(),
            Integer.toString(workers), Integer.toString(model.batchPerWorker()), Integer.toString(epochs)));
        // single: ND4J/OpenBLAS on every core; the replicas of one local[N] JVM: one thread each
        final int threads = "single".equals(mode) ? Runtime.getRuntime().availableProcessors() : 1;
        return run(command, threads, TimeUnit.MINUTES.toSeconds(20), model, mode, workers);
    }

    /** The line of the run with the median whole-fit speed (the lower middle one for an even count). */
    private static String median(final List<String> runs)
    {
        final List<String> sorted = new ArrayList<>(runs);
        sorted.sort(java.util.Comparator.comparingDouble(line -> orZero(speedOf(SPEED, line))));
        return sorted.get((sorted.size() - 1) / 2);
    }

    /** The median of one figure over the runs, on its own (the last epoch's fastest run need not be the fit's). */
    private static double medianOf(final List<String> runs, final Pattern figure)
    {
        final double[] values = runs.stream().mapToDouble(line -> orZero(speedOf(figure, line))).sorted().toArray();
        return values[(values.length - 1) / 2];
    }

    /** A run that failed or did not finish has no figure: it counts as the slowest. */
    private static double orZero(final double value)
    {
        return Double.isNaN(value) ? 0 : value;
    }

    /**
     * DL4J's SharedTrainingMaster in its own JVM. An MLP goes by its hidden sizes; the CNN and the graph by their
     * configuration's JSON in a temporary file (the two classpaths share DL4J 1.0.0-M2, not our classes).
     */
    private static String runShared(final Model model, final int workers, final int allEpochs,
        final String classpath, final String flags, final long limitS) throws IOException, InterruptedException
    {
        final int epochs = Math.min(allEpochs, model.maxEpochs());
        if (classpath == null)
        {
            return String.format(Locale.ROOT, "train model=%s mode=shared workers=%d skipped=no_shared_classpath",
                model.name(), workers);
        }
        final List<String> command = java(classpath, flags.isBlank() ? List.of() : List.of(flags.split(" ")));
        command.addAll(List.of("io.paratrain.benchmarks.shared.SharedMasterRun",
            "--train", dataFile("mnist-train.csv.gz"), "--test", dataFile("mnist-test.csv.gz"),
            "--workers", Integer.toString(workers),
            "--batch-size", Integer.toString(model.batchPerWorker()), "--epochs", Integer.toString(epochs),
            "--model-name", model.name(), "--time-limit-s", Long.toString(limitS)));
        Path json = null;
        if (BenchModels.isMlp(model.architecture()))
        {
            command.addAll(List.of("--hidden", model.architecture()));
        }
        else
        {
            final boolean graph = BenchModels.isGraph(model.architecture());
            json = Files.createTempFile("paratrain-bench-train-model-", ".json");
            Files.writeString(json, graph ? BenchModels.graph().toJson() :
                BenchModels.configuration(model.architecture()).toJson());
            command.addAll(List.of(graph ? "--graph-json" : "--network-json", json.toString()));
        }
        // DL4J's nd4j-aeron launches media drivers in /dev/shm/aeron-<user>-<uuid> and leaves them behind.
        final List<Path> before = aeronDirs();
        try
        {
            return run(command, 1, limitS + 60, model, "shared", workers);
        }
        finally
        {
            if (json != null)
            {
                Files.deleteIfExists(json);
            }
            for (final Path dir : aeronDirs())
            {
                if (!before.contains(dir))
                {
                    Folders.deleteTree(dir);
                }
            }
        }
    }

    private static List<Path> aeronDirs() throws IOException
    {
        final Path shm = Path.of("/dev/shm");
        if (!Files.isDirectory(shm))
        {
            return List.of();
        }
        try (var entries = Files.list(shm))
        {
            return entries.filter(p -> p.getFileName().toString().startsWith("aeron-")).toList();
        }
    }

    /** Runs a command, returns its {@code train model=} line; kills it after {@code limitS}. */
    private static String run(final List<String> command, final int threads, final long limitS, final Model model,
        final String mode, final int workers) throws IOException, InterruptedException
    {
        final Path log = Files.createTempFile("paratrain-bench-train-", ".log");
        try
        {
            final ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(log.toFile());
            builder.environment().put("OMP_NUM_THREADS", Integer.toString(threads));
            final Process process = builder.start();
            if (!process.waitFor(limitS, TimeUnit.SECONDS))
            {
                process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
                return String.format(Locale.ROOT, "train model=%s mode=%s workers=%d did_not_finish_in_s=%d",
                    model.name(), mode, workers, limitS);
            }
            final List<String> lines = Files.readAllLines(log);
            String result = null;
            for (final String line : lines)
            {
                if (line.contains(": fit ") && line.contains("epochs (s)"))
                {
                    System.out.println("# " + line); // where the run's time went, epoch by epoch
                }
                if (result == null && line.startsWith("train model="))
                {
                    result = line;
                }
            }
            if (result != null)
            {
                return result;
            }
            return String.format(Locale.ROOT, "train model=%s mode=%s workers=%d failed=exit_%d (last output: %s)",
                model.name(), mode, workers, process.exitValue(),
                lines.isEmpty() ? "none" : lines.get(lines.size() - 1));
        }
        finally
        {
            Files.deleteIfExists(log);
        }
    }

    private static List<String> java(final String classpath, final List<String> flags)
    {
        final List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(flags);
        command.addAll(List.of("-Xmx6g", "-cp", classpath));
        return command;
    }

    /** The flags this JVM was started with (bin/bench-train passes Spark's and Aeron's). */
    private static List<String> jvmFlags()
    {
        return java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
            .filter(flag -> flag.startsWith("--add-") || flag.startsWith("-XX:+IgnoreUnrecognized") ||
                flag.startsWith("-Djdk.reflect") || flag.startsWith("-Dlog4j2"))
            .toList();
    }

    private static String dataFile(final String name)
    {
        return Path.of(System.getProperty("paratrain.root", "."), "spark-trainer", "src", "main", "resources", "io",
            "paratrain", "sparktrainer", "data", name).toString();
    }

    private static double speedOf(final Pattern pattern, final String line)
    {
        final Matcher matcher = pattern.matcher(line);
        return matcher.find() ? Double.parseDouble(matcher.group(1)) : Double.NaN;
    }
}
