package io.paratrain.benchmarks;

import io.paratrain.sparktrainer.DataParallelTrainer;
import io.paratrain.sparktrainer.StepMetrics;
import io.paratrain.sparktrainer.TrainingListener;
import io.paratrain.sparktrainer.TrainerConfig;
import io.paratrain.sparktrainer.job.BundledData;
import io.paratrain.sparktrainer.job.ExampleReader;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.datasets.iterator.utilty.ListDataSetIterator;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.deeplearning4j.spark.impl.graph.SparkComputationGraph;
import org.deeplearning4j.spark.impl.multilayer.SparkDl4jMultiLayer;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingMaster;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * One run of {@link TrainBenchmark}, in a JVM of its own so that modes do not share JIT, ND4J or thread state.
 * Arguments: {@code mode model architecture workers batchPerWorker epochs}, the architecture as
 * {@link BenchModels} names it ({@code lenet}, {@code graph-bn}, or an MLP's hidden sizes as a comma list). Trains on the bundled MNIST
 * training set, times only the fit (all epochs), evaluates on the bundled test set and prints
 * {@code train model=M mode=X workers=N samples_per_s=S last_epoch_samples_per_s=L accuracy=A}: S over the whole
 * fit (start-up and JIT warm-up included), L over the last epoch alone (steady state).
 * {@code -Dparatrain.bench.wholeUpdate=true} makes every all-reduce replica run the whole optimizer step instead of
 * its shard (for comparing the two). Mode {@code allreduce-dl4j-im2col} is the all-reduce with its convolution
 * layers on DL4J's own im2col op ({@code TrainerConfig.directIm2col(false)}): the convolution code the other modes
 * run.
 */
public final class TrainRun
{
    private TrainRun()
    {
    }

    public static void main(final String[] args) throws Exception
    {
        final String mode = args[0];
        final String model = args[1];
        final String architecture = args[2];
        final int workers = Integer.parseInt(args[3]);
        final int batch = Integer.parseInt(args[4]);
        final int epochs = Integer.parseInt(args[5]);
        final List<DataSet> train = load(BundledData.TRAIN);
        final List<DataSet> test = load(BundledData.TEST);
        final Model network = create(architecture);

        final EpochClock clock = new EpochClock();
        final double seconds = switch (mode)
        {
            case "single" -> single(network, train, workers * batch, epochs, clock);
            case "allreduce" -> withSpark(workers, sc -> allReduce(sc, network, train, workers, batch, epochs, clock,
                true));
            case "allreduce-dl4j-im2col" -> withSpark(workers, sc -> allReduce(sc, network, train, workers, batch,
                epochs, clock, false));
            case "paramavg" -> withSpark(workers, sc -> parameterAveraging(sc, network, train, workers, batch, epochs,
                clock));
            default -> throw new IllegalArgumentException("unknown mode " + mode);
        };
        System.err.printf(Locale.ROOT, "%s %s: fit %.2f s; epochs (s): %s%n", model, mode, seconds,
            clock.describe(seconds));
        final Evaluation evaluation = evaluate(network, new ListDataSetIterator<>(batches(test, 500), 1));
        System.out.printf(Locale.ROOT, "train model=%s mode=%s workers=%d samples_per_s=%.1f " +
            "last_epoch_samples_per_s=%.1f accuracy=%.4f%n", model, mode, "single".equals(mode) ? 1 : workers,
            (double)train.size() * epochs / seconds, train.size() / clock.lastEpochSeconds(), evaluation.accuracy());
        System.exit(0); // Spark may leave non-daemon threads behind
    }

    /** The initialized network: a ComputationGraph for {@link BenchModels#GRAPH_BN}, else a MultiLayerNetwork. */
    private static Model create(final String architecture)
    {
        if (BenchModels.isGraph(architecture))
        {
            final ComputationGraph graph = new ComputationGraph(BenchModels.graph());
            graph.init();
            return graph;
        }
        final MultiLayerNetwork network = new MultiLayerNetwork(BenchModels.configuration(architecture));
        network.init();
        return network;
    }

    private static Evaluation evaluate(final Model network, final DataSetIterator test)
    {
        return network instanceof ComputationGraph graph ? graph.evaluate(test) :
            ((MultiLayerNetwork)network).evaluate(test);
    }

    /** Plain DL4J in this JVM (ND4J uses every core), batch workers x batchPerWorker. */
    private static double single(final Model network, final List<DataSet> train, final int batch,
        final int epochs, final EpochClock clock)
    {
        final ListDataSetIterator<DataSet> iterator = new ListDataSetIterator<>(batches(train, batch), 1);
        network.addListeners(new BaseTrainingListener()
        {
            @Override
            public void onEpochEnd(final Model model)
            {
                clock.epochEnded();
            }
        });
        final long startNs = clock.start();
        if (network instanceof ComputationGraph graph)
        {
            graph.fit(iterator, epochs);
        }
        else
        {
            ((MultiLayerNetwork)network).fit(iterator, epochs);
        }
        return (System.nanoTime() - startNs) / 1e9;
    }

    private static double allReduce(final JavaSparkContext sc, final Model network,
        final List<DataSet> train, final int workers, final int batch, final int epochs, final EpochClock clock,
        final boolean directIm2col)
    {
        final JavaRDD<DataSet> rdd = cachedBatches(sc, train, batch, workers);
        final DataParallelTrainer trainer = new DataParallelTrainer(sc, TrainerConfig.builder()
            .workers(workers).batchSizePerWorker(batch).epochs(epochs).ompThreadsPerWorker(1)
            .shardedUpdate(!Boolean.getBoolean("paratrain.bench.wholeUpdate")).directIm2col(directIm2col).build());
        trainer.addListener(new TrainingListener()
        {
            @Override
            public void onStep(final StepMetrics metrics)
            {
            }

            @Override
            public void onEpochEnd(final int epoch, final double meanLoss, final double samplesPerSecond)
            {
                clock.epochEnded();
            }
        });
        final long startNs = clock.start();
        if (network instanceof ComputationGraph graph)
        {
            trainer.fit(graph, rdd);
        }
        else
        {
            trainer.fit((MultiLayerNetwork)network, rdd);
        }
        return (System.nanoTime() - startNs) / 1e9;
    }

    /** DL4J's ParameterAveragingTrainingMaster with its defaults (averaging every 5 minibatches). */
    private static double parameterAveraging(final JavaSparkContext sc, final Model network,
        final List<DataSet> train, final int workers, final int batch, final int epochs, final EpochClock clock)
    {
        final JavaRDD<DataSet> rdd = cachedBatches(sc, train, batch, workers);
        final ParameterAveragingTrainingMaster master = new ParameterAveragingTrainingMaster.Builder(batch)
            .batchSizePerWorker(batch)
            .workerPrefetchNumBatches(0)
            .build();
        // SparkComputationGraph for a graph: DL4J's parameter averaging trains both model types
        final SparkDl4jMultiLayer sparkNetwork = network instanceof MultiLayerNetwork n ?
            new SparkDl4jMultiLayer(sc, n, master) : null;
        final SparkComputationGraph sparkGraph = network instanceof ComputationGraph g ?
            new SparkComputationGraph(sc, g, master) : null;
        final long startNs = clock.start();
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            if (sparkGraph != null)
            {
                sparkGraph.fit(rdd);
            }
            else
            {
                sparkNetwork.fit(rdd);
            }
            clock.epochEnded();
        }
        final double seconds = (System.nanoTime() - startNs) / 1e9;
        // the whole parameter vector, BatchNormalization's running statistics included
        network.setParams(sparkGraph != null ? sparkGraph.getNetwork().params() : sparkNetwork.getNetwork().params());
        return seconds;
    }

    /**
     * Times the last epoch. For the all-reduce master the epoch ends are reported by rank 0 over the progress
     * socket, a few ms late, the same for every epoch.
     */
    private static final class EpochClock
    {
        private final List<Double> epochSeconds = new ArrayList<>();
        private long startNs;
        private long lastEndNs;
        private long lastEpochNs;

        synchronized long start()
        {
            lastEndNs = System.nanoTime();
            startNs = lastEndNs;
            return lastEndNs;
        }

        synchronized void epochEnded()
        {
            final long now = System.nanoTime();
            lastEpochNs = now - lastEndNs;
            lastEndNs = now;
            epochSeconds.add(lastEpochNs / 1e9);
        }

        /** Seconds of each epoch (the first includes the start of the fit), then from the last epoch's end. */
        synchronized String describe(final double fitSeconds)
        {
            final StringBuilder text = new StringBuilder();
            epochSeconds.forEach(s -> text.append(String.format(Locale.ROOT, "%.2f ", s)));
            return text.append(String.format(Locale.ROOT, "end %.2f", fitSeconds - (lastEndNs - startNs) / 1e9))
                .toString();
        }

        synchronized double lastEpochSeconds()
        {
            return lastEpochNs / 1e9;
        }
    }

    private interface SparkBody
    {
        double run(JavaSparkContext sc);
    }

    private static double withSpark(final int workers, final SparkBody body)
    {
        final SparkConf conf = new SparkConf()
            .setMaster("local[" + workers + "]")
            .setAppName("paratrain bench-train")
            .set("spark.ui.enabled", "false")
            .set("spark.driver.host", "127.0.0.1")
            .set("spark.driver.bindAddress", "127.0.0.1");
        try (JavaSparkContext sc = new JavaSparkContext(conf))
        {
            return body.run(sc);
        }
    }

    private static List<DataSet> load(final String name)
    {
        final ExampleReader reader = new ExampleReader(784, 10, 1.0 / 255);
        final List<String> lines = BundledData.lines(name);
        final List<DataSet> examples = new ArrayList<>(lines.size());
        for (int i = 0; i < lines.size(); i++)
        {
            examples.add(reader.parseCsv(lines.get(i), name + " line " + (i + 1)));
        }
        return examples;
    }

    /**
     * The training minibatches cached on the executors, the same RDD for every Spark mode. The lineage is cut
     * (local checkpoint) as it would be for data read from files: otherwise every task of every job would carry
     * its 12 MB slice of the parallelized list (seen: 0.5 s per job to serialize and ship it).
     */
    private static JavaRDD<DataSet> cachedBatches(final JavaSparkContext sc, final List<DataSet> train,
        final int batch, final int workers)
    {
        final JavaRDD<DataSet> rdd = sc.parallelize(batches(train, batch), workers);
        rdd.rdd().localCheckpoint();
        rdd.count();
        return rdd;
    }

    private static List<DataSet> batches(final List<DataSet> examples, final int size)
    {
        final List<DataSet> batches = new ArrayList<>();
        for (int start = 0; start < examples.size(); start += size)
        {
            batches.add(DataSet.merge(examples.subList(start, Math.min(examples.size(), start + size))));
        }
        return batches;
    }
}
