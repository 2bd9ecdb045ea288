package io.paratrain.sparktrainer.job;

import io.paratrain.modelsplit.SplitConfig;
import io.paratrain.sparktrainer.CheckpointConfig;
import io.paratrain.sparktrainer.DataParallelTrainer;
import io.paratrain.sparktrainer.ModelSplitConfig;
import io.paratrain.sparktrainer.ModelSplitTrainer;
import io.paratrain.sparktrainer.TrainerConfig;
import io.paratrain.sparktrainer.TrainingListener;
import io.paratrain.sparktrainer.TrainingSummary;
import io.paratrain.sparktrainer.exceptions.TrainerConfigException;
import io.paratrain.sparktrainer.exceptions.TrainerException;
import io.paratrain.sparktrainer.exceptions.TrainingInputException;
import io.paratrain.sparktrainer.plot.MetricsCharts;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.nd4j.linalg.dataset.DataSet;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * The job: {@code spark-submit --class io.paratrain.sparktrainer.job.TrainJob paratrain-spark-trainer-all.jar
 * [train] [options]} or {@code bin/paratrain train [options]} (local Spark). Reads and checks all data before the
 * first step, trains, evaluates, writes the model and ends with the line {@code accuracy=<test accuracy>} (a graph
 * with several outputs trained on MultiDataSets ends with one line per output instead: {@link TestReport}).
 * Exit codes: 0 done, 2 bad options or input (nothing written), 1 training failed.
 */
public final class TrainJob
{
    /** The metrics file --plot writes into its folder when --no-metrics is given. */
    static final String PLOT_METRICS = "paratrain-metrics.jsonl";

    private TrainJob()
    {
    }

    public static void main(final String[] args)
    {
        // Spark can leave non-daemon threads behind after stop(); the job must still end.
        System.exit(run(args, System.out, System.err));
    }

    public static int run(final String[] arguments, final PrintStream out, final PrintStream err)
    {
        final String[] args = arguments.length > 0 && "train".equals(arguments[0]) ?
            java.util.Arrays.copyOfRange(arguments, 1, arguments.length) : arguments;
        final JobOptions options;
        try
        {
            options = JobOptions.parse(args);
        }
        catch (final TrainerException ex)
        {
            err.println("error: " + ex.getMessage());
            return 2;
        }
        if (options == null)
        {
            out.print(JobOptions.HELP);
            return 0;
        }
        final SparkConf conf = new SparkConf().setAppName("paratrain train");
        if (!conf.contains("spark.master"))
        {
            conf.setMaster(options.master() != null ? options.master() : "local[" + options.tasks() + "]");
        }
        conf.setIfMissing("spark.ui.showConsoleProgress", "false");
        try (JavaSparkContext sc = new JavaSparkContext(conf))
        {
            return train(sc, options, out, err);
        }
        catch (final IOException ex)
        {
            err.println("error: " + ex.getMessage());
            return 1;
        }
        catch (final Exception ex) // Spark's job failures arrive as the checked SparkException
        {
            final TrainerException cause = causeOf(ex);
            if (cause instanceof TrainingInputException || cause instanceof TrainerConfigException)
            {
                err.println("error: " + cause.getMessage());
                return 2;
            }
            err.println("error: training failed: " + (cause != null ? cause.getMessage() : ex.toString()));
            ex.printStackTrace(err);
            return 1;
        }
    }

    static int train(final JavaSparkContext sc, final JobOptions options, final PrintStream out,
        final PrintStream err) throws IOException
    {
        final JobModel model = ModelSource.load(options, sc.hadoopConfiguration());
        model.requireTrainableWith(options);
        final SplitConfig split = options.modelSplit() ? model.split(options) : null;
        if (!options.bundledData())
        {
            InputPaths.requireExisting("--train", options.trainPath(), sc.hadoopConfiguration());
        }
        if (options.testPath() != null)
        {
            InputPaths.requireExisting("--test", options.testPath(), sc.hadoopConfiguration());
        }
        final TrainerConfig config = TrainerConfig.builder()
            .workers(options.workers())
            .batchSizePerWorker(options.batchSize())
            .epochs(options.epochs())
            .ompThreadsPerWorker(sc.master().startsWith("local") ? 1 : 0)
            .slotWaitMs(options.slotWaitSeconds() * 1000L)
            .collectiveTimeoutMs(options.collectiveTimeoutSeconds() * 1000L)
            .checkpoint(options.checkpointDir() == null ? null : new CheckpointConfig(options.checkpointDir(),
                options.checkpointEverySteps(), options.checkpointsKept(), options.resume()))
            .build();
        // --plot: one fit per epoch (EpochByEpoch), all with this trainer
        final DataParallelTrainer trainer = new DataParallelTrainer(sc, options.plot() != null ?
            EpochByEpoch.oneEpoch(config) : config);
        final ModelSplitTrainer splitTrainer = split != null ? modelSplitTrainer(sc, split, config) : null;
        // Before reading any data: a cluster that cannot run the barrier stage fails the job now, not later; the
        // trainer that waited does not wait again in its fit (nor in --plot's other per-epoch fits).
        if (splitTrainer != null)
        {
            splitTrainer.awaitSlots("model-split training with " + options.tasks() + " shards");
        }
        else
        {
            trainer.awaitSlots("training with " + options.tasks() + " workers", options.plot() != null ?
                options.epochs() : 1);
        }
        out.println(SparkPlacement.describe(sc)); // after the slot wait: a cluster's executors have registered
        sc.setJobDescription("Paratrain: reading and checking the data");
        final JobInput data = JobInput.read(sc, options, model);
        out.printf(Locale.ROOT, "data: %,d training examples (%s), %,d test examples (%s), %s%n",
            data.trainExamples(), data.trainName(), data.testExamples(), data.testName(), options.exportedMulti() ?
            model.multiShape().describe() : model.inputs() + " features, " + model.classes() + " classes");
        FeatureRange.warning(data.minFeature(), data.maxFeature(), options)
            .ifPresent(warning -> err.println("warning: " + warning));
        final TrainingData train = data.train();
        final JavaRDD<DataSet> test = data.test();

        out.printf(Locale.ROOT, "model: %s, %,d parameters; %s, %d epochs%n", options.model(), model.numParams(),
            split != null ? split.shards() + " shards of layers " + new TreeSet<>(split.splitLayers())
                + (split.paired() ? " (paired)" : "") + ", batch " +
            options.batchSize() : options.workers() + " workers x batch " + options.batchSize(), options.epochs());
        // Both modes report progress and evaluate (on executors, with the whole trained model).
        final List<TrainingListener> listeners = new ArrayList<>();
        listeners.add(new ConsoleProgress(out, System.console() != null, options.epochs()));
        // The charts are drawn from the metrics file: --plot writes one into its folder when --no-metrics is given.
        final String metricsPath = options.metrics() != null ? options.metrics() :
            options.plot() != null ? Path.of(options.plot(), PLOT_METRICS).toString() : null;
        final MetricsFile metrics = metricsPath == null ? null : new MetricsFile(Path.of(metricsPath));
        if (metrics != null)
        {
            listeners.add(metrics);
        }
        try
        {
            final TrainingSummary summary;
            final TestReport evaluation;
            if (options.plot() != null)
            {
                final EpochByEpoch.Result result = EpochByEpoch.fit(trainer, options.epochs(), listeners, metrics,
                    model, train, test);
                summary = result.summary();
                evaluation = new TestReport.OneOutput(result.evaluation());
                if (metrics != null)
                {
                    metrics.channel(summary.channel());
                }
            }
            else
            {
                listeners.forEach(trainer::addListener);
                if (splitTrainer != null)
                {
                    listeners.forEach(splitTrainer::addListener);
                }
                summary = split != null ?
                    model.fit(splitTrainer, train.examples()) :
                    train.fit(model, trainer);
                evaluation = options.exportedMulti() ? model.evaluateMultiDataSet(trainer, data.testMulti()) :
                    new TestReport.OneOutput(model.evaluate(trainer, test));
                if (metrics != null)
                {
                    metrics.channel(summary.channel());
                    evaluation.record(metrics);
                }
            }
            out.printf(Locale.ROOT, "trained: %,d steps in %.1f s, %,.0f samples/s, final loss %.4f%n",
                summary.stepsPerEpoch() * summary.epochs(), summary.seconds(), summary.samplesPerSecond(),
                summary.finalLoss());
            out.println("gradient channel: " + summary.channel().describe());
            if (options.plot() != null)
            {
                metrics.close();
                final List<Path> charts = MetricsCharts.write(Path.of(metricsPath), Path.of(options.plot()));
                out.println("plots: " + charts.stream().map(Path::toString).collect(Collectors.joining(", ")));
            }
            if (options.output() != null)
            {
                try
                {
                    model.write(options.output(), sc.hadoopConfiguration());
                }
                catch (final IOException ex)
                {
                    throw new IOException("cannot write the model to " + options.output() + ": " + ex.getMessage(),
                        ex);
                }
                out.println("model: written to " + options.output());
            }
            evaluation.print(out, data.testName());
            return 0;
        }
        finally
        {
            if (metrics != null)
            {
                metrics.close();
            }
        }
    }

    /** The model-split trainer with the job's settings (those shared with data parallel come from {@code config}). */
    private static ModelSplitTrainer modelSplitTrainer(final JavaSparkContext sc, final SplitConfig split,
        final TrainerConfig config)
    {
        return new ModelSplitTrainer(sc, ModelSplitConfig.builder(split)
            .epochs(config.epochs())
            .batchSize(config.batchSizePerWorker())
            .collectiveTimeoutMs(config.collectiveTimeoutMs())
            .slotWaitMs(config.slotWaitMs())
            .ompThreadsPerShard(config.ompThreadsPerWorker())
            .checkpoint(config.checkpoint())
            .build());
    }

    /**
     * The trainer's own exception inside whatever Spark wrapped it in: a task's exception reaches the driver as the
     * cause of Spark's job failure, and a failed fit stage rethrows its tasks' own errors (BarrierStage).
     */
    static TrainerException causeOf(final Throwable error)
    {
        for (Throwable t = error; t != null; t = t.getCause())
        {
            if (t instanceof TrainerException trainerException)
            {
                return trainerException;
            }
        }
        return null;
    }
}
