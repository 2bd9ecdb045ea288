package io.paratrain.benchmarks.shared;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.zip.GZIPInputStream;

import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.datasets.iterator.utilty.ListDataSetIterator;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.deeplearning4j.optimize.solvers.accumulation.encoding.threshold.AdaptiveThresholdAlgorithm;
import org.deeplearning4j.spark.api.RDDTrainingApproach;
import org.deeplearning4j.spark.impl.graph.SparkComputationGraph;
import org.deeplearning4j.spark.impl.multilayer.SparkDl4jMultiLayer;
import org.deeplearning4j.spark.impl.repartitioner.NoOpRepartitioner;
import org.deeplearning4j.spark.parameterserver.training.SharedTrainingMaster;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.nd4j.parameterserver.distributed.conf.VoidConfiguration;
import org.nd4j.parameterserver.distributed.v2.enums.MeshBuildMode;

/**
 * One training run of DL4J's own {@link SharedTrainingMaster} (threshold-encoded gradient sharing over
 * nd4j-aeron, Aeron 1.32) on local Spark, for comparison in {@code bin/bench-train}. It must run in a JVM of
 * its own: Paratrain's modules use Aeron 1.51, which nd4j-aeron cannot run with.
 *
 * <p>Prints exactly one line on stdout (logs go to stderr):
 * {@code train model=NAME mode=shared workers=N samples_per_s=X accuracy=Y}, or {@code ... did_not_finish_in_s=T}
 * (exit 3) when the whole run exceeds {@code --time-limit-s}, or {@code ... failed=REASON} (exit 1).
 */
public final class SharedMasterRun {
    private static final int PIXELS = 784;
    private static final int CLASSES = 10;
    private static final int EXIT_OK = 0;
    private static final int EXIT_FAILED = 1;
    private static final int EXIT_TIMED_OUT = 3;
    /** How long System.exit may take (Spark's and DL4J's shutdown hooks) before the JVM is halted. */
    private static final long EXIT_GRACE_MS = 10_000;

    /** Exactly one result line is printed, by whichever of the main thread and the watchdog comes first. */
    private static final AtomicBoolean REPORTED = new AtomicBoolean();

    private SharedMasterRun() {
    }

    /**
     * Command-line options; the compact constructor names the bad option and value. The model: an MLP of
     * {@code --hidden} sizes, or a configuration's JSON ({@code --network-json} for a MultiLayerNetwork,
     * {@code --graph-json} for a ComputationGraph, which then trains through SparkComputationGraph); null when
     * not given.
     */
    record Options(Path train, Path test, int[] hidden, Path networkJson, Path graphJson, int workers,
                   int batchSize, int epochs, double learningRate, long seed, String modelName, int timeLimitS) {
        Options {
            require(networkJson == null || graphJson == null, "--network-json and --graph-json",
                    "both given, expected at most one");
            require(hidden.length > 0 && Arrays.stream(hidden).allMatch(h -> h > 0), "--hidden", Arrays.toString(hidden));
            require(workers > 0, "--workers", workers);
            require(batchSize > 0, "--batch-size", batchSize);
            require(epochs > 0, "--epochs", epochs);
            require(learningRate > 0, "--learning-rate", learningRate);
            require(!modelName.isBlank() && !modelName.contains(" "), "--model-name", "'" + modelName + "'");
            require(timeLimitS > 0, "--time-limit-s", timeLimitS);
        }

        private static void require(boolean ok, String option, Object value) {
            if (!ok) {
                throw new IllegalArgumentException("bad " + option + ": " + value);
            }
        }

        static Options parse(String[] args) {
            Map<String, String> values = new HashMap<>();
            for (int i = 0; i < args.length; i += 2) {
                if (!args[i].startsWith("--") || i + 1 >= args.length) {
                    throw new IllegalArgumentException("expected --option value pairs, found '" + args[i] + "'");
                }
                values.put(args[i], args[i + 1]);
            }
            return new Options(Path.of(required(values, "--train")), Path.of(required(values, "--test")),
                    Arrays.stream(values.getOrDefault("--hidden", "256").split(",")).mapToInt(Integer::parseInt).toArray(),
                    values.containsKey("--network-json") ? Path.of(values.get("--network-json")) : null,
                    values.containsKey("--graph-json") ? Path.of(values.get("--graph-json")) : null,
                    Integer.parseInt(values.getOrDefault("--workers", "2")),
                    Integer.parseInt(required(values, "--batch-size")),
                    Integer.parseInt(required(values, "--epochs")),
                    Double.parseDouble(values.getOrDefault("--learning-rate", "0.001")),
                    Long.parseLong(values.getOrDefault("--seed", "42")),
                    required(values, "--model-name"),
                    Integer.parseInt(required(values, "--time-limit-s")));
        }

        private static String required(Map<String, String> values, String option) {
            String value = values.get(option);
            if (value == null) {
                throw new IllegalArgumentException("missing " + option);
            }
            return value;
        }
    }

    public static void main(String[] args) {
        String prefix = "train model=" + argOrUnknown(args, "--model-name") + " mode=shared workers="
                + argOrUnknown(args, "--workers");
        int exitCode;
        try {
            Options options = Options.parse(args);
            prefix = "train model=" + options.modelName() + " mode=shared workers=" + options.workers();
            startWatchdog(prefix, options.timeLimitS());
            report(prefix + run(options));
            exitCode = EXIT_OK;
        } catch (Exception | Error e) {
            e.printStackTrace();
            report(prefix + " failed=" + oneLine(e));
            exitCode = EXIT_FAILED;
        }
        exit(exitCode);
    }

    /**
     * nd4j-aeron's transport sets {@code aeron.client.liveness.timeout} to 30 s before launching its embedded
     * media driver, but Aeron 1.32 requires the publication unblock timeout (default 15 s) to exceed it:
     * without this the driver refuses to start (ConfigurationException).
     */
    private static final String AERON_UNBLOCK_TIMEOUT_NS = String.valueOf(TimeUnit.SECONDS.toNanos(60));

    /** Trains and evaluates; returns the figures part of the result line. */
    private static String run(Options options) throws IOException {
        System.setProperty("aeron.publication.unblock.timeout", AERON_UNBLOCK_TIMEOUT_NS);
        List<DataSet> trainBatches = readCsv(options.train()).batchBy(options.batchSize());
        DataSet test = readCsv(options.test());
        int trainExamples = trainBatches.stream().mapToInt(DataSet::numExamples).sum();

        try (JavaSparkContext sc = new JavaSparkContext(sparkConf(options.workers()))) {
            JavaRDD<DataSet> rdd = sc.parallelize(trainBatches, options.workers());
            SparkComputationGraph sparkGraph = options.graphJson() == null ? null
                    : new SparkComputationGraph(sc, graph(options.graphJson()), trainingMaster(options));
            SparkDl4jMultiLayer sparkNet = sparkGraph != null ? null
                    : new SparkDl4jMultiLayer(sc, network(options), trainingMaster(options));

            long fitNs = 0;
            for (int epoch = 0; epoch < options.epochs(); epoch++) {
                long start = System.nanoTime();
                if (sparkGraph != null) {
                    sparkGraph.fit(rdd);
                } else {
                    sparkNet.fit(rdd);
                }
                fitNs += System.nanoTime() - start;
            }
            double samplesPerS = (double) trainExamples * options.epochs() / (fitNs / 1e9);

            ListDataSetIterator<DataSet> testBatches = new ListDataSetIterator<>(test.batchBy(1000));
            Evaluation evaluation = sparkGraph != null ? sparkGraph.getNetwork().evaluate(testBatches)
                    : sparkNet.getNetwork().evaluate(testBatches);
            return String.format(Locale.ROOT, " samples_per_s=%.1f accuracy=%.4f", samplesPerS, evaluation.accuracy());
        }
    }

    private static SparkConf sparkConf(int workers) {
        return new SparkConf()
                .setMaster("local[" + workers + "]")
                .setAppName("paratrain-dl4j-shared")
                .set("spark.driver.host", "127.0.0.1")
                .set("spark.driver.bindAddress", "127.0.0.1")
                .set("spark.ui.enabled", "false");
    }

    private static ComputationGraph graph(Path json) throws IOException {
        ComputationGraph graph = new ComputationGraph(ComputationGraphConfiguration.fromJson(Files.readString(json)));
        graph.init();
        return graph;
    }

    private static MultiLayerNetwork network(Options options) throws IOException {
        if (options.networkJson() != null) {
            MultiLayerNetwork net = new MultiLayerNetwork(
                    MultiLayerConfiguration.fromJson(Files.readString(options.networkJson())));
            net.init();
            return net;
        }
        NeuralNetConfiguration.ListBuilder layers = new NeuralNetConfiguration.Builder()
                .seed(options.seed())
                .dataType(DataType.FLOAT)
                .weightInit(WeightInit.XAVIER)
                .updater(new Adam(options.learningRate()))
                .list();
        int in = PIXELS;
        for (int width : options.hidden()) {
            layers.layer(new DenseLayer.Builder().nIn(in).nOut(width).activation(Activation.RELU).build());
            in = width;
        }
        layers.layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT)
                .nIn(in).nOut(CLASSES).activation(Activation.SOFTMAX).build());
        MultiLayerConfiguration conf = layers.build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        return net;
    }

    /**
     * DL4J's parameter server on one machine: the driver is the controller (mesh root) at 127.0.0.1 on a free
     * UDP port, every node connected to the root (PLAIN mesh). In local[N] the executors live in the driver's
     * JVM and reuse its ModelParameterServer singleton, so no second transport is started; and all N tasks
     * share the JVM's one SharedTrainingWrapper: with one worker per node, the first task trains the model on
     * the minibatches of all tasks and the others only feed it. Thresholds: DL4J's defaults (adaptive
     * threshold, residual clipping).
     */
    private static SharedTrainingMaster trainingMaster(Options options) throws IOException {
        VoidConfiguration voidConfiguration = VoidConfiguration.builder()
                .controllerAddress("127.0.0.1")
                .unicastPort(freeUdpPort())
                .meshBuildMode(MeshBuildMode.PLAIN)
                .build();
        return new SharedTrainingMaster.Builder(voidConfiguration, options.workers(),
                        new AdaptiveThresholdAlgorithm(), options.batchSize())
                .batchSizePerWorker(options.batchSize())
                .workersPerNode(1)
                // Direct: train from the in-memory RDD; the default (Export) first writes every
                // minibatch to a temporary directory, which would be timed as part of fit.
                .rddTrainingApproach(RDDTrainingApproach.Direct)
                // Keep the RDD's N even partitions: the default repartitioner splits it into one minibatch
                // per partition (one Spark task and one training round each), about 3x slower here.
                .repartitioner(new NoOpRepartitioner())
                .rngSeed(options.seed())
                .collectTrainingStats(false)
                .build();
    }

    private static int freeUdpPort() throws IOException {
        try (DatagramSocket socket = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    /** Reads a gzip CSV without header, rows {@code label,p0..p783}, pixels 0..255 scaled to 0..1. */
    static DataSet readCsv(Path file) throws IOException {
        List<float[]> pixels = new ArrayList<>();
        List<Integer> labels = new ArrayList<>();
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(
                new GZIPInputStream(Files.newInputStream(file)), StandardCharsets.US_ASCII))) {
            String line;
            while ((line = reader.readLine()) != null) {
                String[] fields = line.split(",");
                if (fields.length != PIXELS + 1) {
                    throw new IOException(file + " row " + (labels.size() + 1) + ": expected " + (PIXELS + 1)
                            + " fields, found " + fields.length);
                }
                float[] row = new float[PIXELS];
                for (int p = 0; p < PIXELS; p++) {
                    row[p] = Integer.parseInt(fields[p + 1]) / 255f;
                }
                pixels.add(row);
                labels.add(Integer.parseInt(fields[0]));
            }
        }
        float[][] oneHot = new float[labels.size()][CLASSES];
        for (int i = 0; i < labels.size(); i++) {
            oneHot[i][labels.get(i)] = 1f;
        }
        return new DataSet(Nd4j.create(pixels.toArray(new float[0][])), Nd4j.create(oneHot));
    }

    /**
     * The whole run (Spark start, data, training, evaluation) must finish within the limit; DL4J's parameter
     * server can wait forever for a peer, so a daemon thread reports and halts (no shutdown hooks: they may
     * be what hangs).
     */
    private static void startWatchdog(String prefix, int timeLimitS) {
        Thread watchdog = new Thread(() -> {
            try {
                Thread.sleep(timeLimitS * 1000L);
            } catch (InterruptedException e) {
                return;
            }
            if (report(prefix + " did_not_finish_in_s=" + timeLimitS)) {
                Runtime.getRuntime().halt(EXIT_TIMED_OUT);
            }
        }, "shared-master-run-watchdog");
        watchdog.setDaemon(true);
        watchdog.start();
    }

    /** Prints the result line unless one was printed already; returns whether this call printed it. */
    private static boolean report(String line) {
        if (!REPORTED.compareAndSet(false, true)) {
            return false;
        }
        System.out.println(line);
        System.out.flush();
        return true;
    }

    /** Spark and DL4J leave non-daemon threads behind; their shutdown hooks get a grace period, then halt. */
    private static void exit(int code) {
        Thread halter = new Thread(() -> {
            try {
                Thread.sleep(EXIT_GRACE_MS);
            } catch (InterruptedException e) {
                return;
            }
            Runtime.getRuntime().halt(code);
        }, "shared-master-run-halter");
        halter.setDaemon(true);
        halter.start();
        System.exit(code);
    }

    private static String argOrUnknown(String[] args, String option) {
        for (int i = 0; i + 1 < args.length; i++) {
            if (args[i].equals(option) && !args[i + 1].startsWith("--")) {
                return args[i + 1];
            }
        }
        return "?";
    }

    private static String oneLine(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String message = e.getClass().getSimpleName() + ": " + e.getMessage();
        if (root != e) {
            message += " (cause " + root.getClass().getSimpleName() + ": " + root.getMessage() + ")";
        }
        return message.replaceAll("\\s+", " ");
    }
}
