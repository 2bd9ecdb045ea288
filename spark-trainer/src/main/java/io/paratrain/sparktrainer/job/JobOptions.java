package io.paratrain.sparktrainer.job;

import io.paratrain.sparktrainer.Defaults;
import io.paratrain.sparktrainer.TrainerConfig;
import io.paratrain.sparktrainer.exceptions.TrainerConfigException;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Options of {@code bin/paratrain train} and the spark-submit main, validated.
 *
 * @param model          a DL4J MultiLayerConfiguration or ComputationGraphConfiguration JSON file (any Hadoop path)
 *                       or a preset name.
 * @param trainPath      training data (CSV, LibSVM, Parquet or exported DataSet files; any Hadoop path), or null for
 *                       the bundled data.
 * @param testPath       test data, or null for the bundled data (or none when trainPath is given alone).
 * @param format         csv, libsvm, parquet, exported (DataSet.save files), exported-multi
 *                       (MultiDataSet.save files) or auto (from the file name).
 * @param featureScale   every feature is multiplied by this (NaN = 1/255 for the bundled data, else 1).
 * @param epochs         passes over the training data.
 * @param batchSize      examples per worker per step.
 * @param workers        replicas (Spark barrier tasks).
 * @param updater        adam, nesterovs or sgd (presets only; a JSON model keeps its own).
 * @param learningRate   learning rate (presets only).
 * @param seed           weight initialisation seed (presets only).
 * @param output         where the trained model (ModelSerializer zip) is written; null = not written.
 * @param metrics        JSON-lines metrics file; null = none.
 * @param master         Spark master when the job starts Spark itself (spark-submit's wins).
 * @param mode           data-parallel or model-split.
 * @param shards         model-split: column shards, one Spark barrier task each.
 * @param splitLayers    model-split: indices of the layers to split; null = chosen by splitThreshold.
 * @param splitThreshold model-split without splitLayers: split every dense/output layer whose weight matrix has at
 *                       least this many elements, or every dense/output layer when none has.
 * @param splitPairing   model-split: Megatron pairing of consecutive split layers (columns, then rows).
 * @param plot           folder for PNG charts of loss, test accuracy per epoch and throughput; null = none.
 * @param slotWaitSeconds longest wait for the cluster to offer a task slot per barrier task before failing.
 * @param checkpointDir  data-parallel: checkpoint folder (any Hadoop path); null = no checkpoints.
 * @param checkpointEverySteps data-parallel: also checkpoint every this many steps (0 = at epoch ends only).
 * @param checkpointsKept newest checkpoints kept.
 * @param resume         continue from the newest valid checkpoint in checkpointDir.
 * @param collectiveTimeoutSeconds longest wait for a peer rank (stalled or dead) before the training stage fails.
 */
public record JobOptions(
    String model,
    String trainPath,
    String testPath,
    String format,
    double featureScale,
    int epochs,
    int batchSize,
    int workers,
    String updater,
    double learningRate,
    long seed,
    String output,
    String metrics,
    String master,
    String mode,
    int shards,
    List<Integer> splitLayers,
    long splitThreshold,
    boolean splitPairing,
    String plot,
    int slotWaitSeconds,
    String checkpointDir,
    int checkpointEverySteps,
    int checkpointsKept,
    boolean resume,
    int collectiveTimeoutSeconds)
{
    public static final String DATA_PARALLEL = "data-parallel";
    public static final String MODEL_SPLIT = "model-split";
    /** --format of DataSets exported to files (DL4J's {@code DataSet.save}, what its {@code fitPaths} reads). */
    public static final String EXPORTED = "exported";
    /** --format of MultiDataSets exported to files ({@code MultiDataSet.save}, for a ComputationGraph). */
    public static final String EXPORTED_MULTI = "exported-multi";

    public static final String HELP = """
        usage: paratrain train [options]
          Trains a DL4J network on Spark, data-parallel (replicas) or model-split (dense layers cut by columns
          across shards), and prints accuracy=<test accuracy>. It first prints the Spark master and executors it
          uses, and checks all data before training: bad input (a missing path, a bad line or row, named by file
          and line) exits with code 2 and writes nothing; a failed training exits with 1.

          --model NAME|FILE      preset (mnist-mlp: 784-256-10, mnist-mlp-large: 784-1000-500-10) or a DL4J
                                 MultiLayerConfiguration or ComputationGraphConfiguration JSON file (what
                                 toJson() writes; a graph needs one input and one output, except on exported
                                 MultiDataSets) on any Hadoop path
                                 [mnist-mlp]
          --train PATH           training data: CSV (label first), LibSVM, Parquet (label + features columns)
                                 or exported DataSet files (--format exported, below); any Hadoop path, .gz
                                 allowed; a folder's (or glob's) files are read in name order, so the same data
                                 gives the same model                                   [bundled MNIST, 8,000]
          --test PATH            test data, same format (without --test: the training data)
                                 [bundled MNIST, 2,000 when --train is not given either]
          --format F             csv | libsvm | parquet | exported | exported-multi | auto (from the file
                                 name; never exported)                                  [auto]
          --feature-scale X      multiply every feature by X; the job warns when features then exceed +-10
                                 (e.g. raw 0..255 pixels: give 0.00392157)  [1/255 for the bundled data, else 1]
          --epochs N             passes over the training data                          [%d]
          --batch-size N         examples per worker per step                           [%d]
          --workers N            replicas, one Spark barrier task each                  [%d]
          --updater U            adam | nesterovs | sgd (presets only)                  [adam]
          --learning-rate X      (presets only)                                         [0.001]
          --seed N               weight initialisation seed (presets only)              [42]
          --output PATH          trained model, DL4J ModelSerializer zip                [paratrain-model.zip]
          --no-output            do not write the model
          --metrics PATH         JSON-lines metrics, one line per step and per epoch    [paratrain-metrics.jsonl]
          --no-metrics           do not write metrics
          --plot DIR             PNG charts in DIR: loss.png, throughput.png and accuracy.png (test accuracy
                                 after every epoch: the job then trains one epoch per Spark stage, same result)
          --mode M               data-parallel | model-split                            [data-parallel]
          --shards N             model-split: column shards, one Spark barrier task each; --workers and
                                 per-step metrics do not apply, --batch-size is the whole step [%d]
          --split-layers I,J     model-split: indices of the dense/output layers to split (0 = first)
                                 [every dense/output layer with >= --split-threshold weights; all if none]
          --split-threshold N    model-split: weight-matrix elements for the default choice  [100000]
          --split-pairing        model-split: split consecutive split layers as Megatron pairs (the first by
                                 columns, the next by rows: one sum-reduce between them)   [off]
          --slot-wait-seconds N  fail when the cluster lacks a task slot per worker/shard after this long [%d]
          --checkpoint-dir PATH  data-parallel: write checkpoints here (any Hadoop path shared by all executors)
                                 at every epoch end; a retried training stage resumes from the newest
          --checkpoint-every-steps N  also checkpoint every N global steps                [0 = epoch ends]
          --checkpoints-kept N   newest checkpoints kept                                 [%d]
          --resume               continue from the newest valid checkpoint in --checkpoint-dir (same data,
                                 workers and batch size); without it, old checkpoints there are deleted
          --collective-timeout-seconds N  longest wait for a stalled or lost peer before the training
                                 stage fails (and Spark retries it)                     [%d]
          --master URL           Spark master when not set by spark-submit   [local[workers], local[shards]]
          --help                 this text

          Exported DataSets (--format exported): data already in DL4J DataSets, as DL4J's fitPaths reads it,
          trained one file at a time, so no executor holds the whole epoch. Each file is one minibatch (any size,
          features and one-hot labels) written by DataSet.save: dataSet.save(new File(dir, "batch-00017.bin"))
          for each minibatch of a DataSetIterator; for an RDD of DataSets, DL4J's BatchAndExportDataSetsFunction
          writes them: rdd.mapPartitionsWithIndex(new BatchAndExportDataSetsFunction(64, "hdfs:///dir"), true)
          .count() (its file names are not zero-padded, so their name order is not the RDD's order).
          --train and --test are files, folders or globs (comma-separated); a folder gives every file directly in
          it except names starting with _ or . (no subfolders), in name order (zero-pad numbered names), and
          every file is trained, whatever its extension. Every file is loaded and checked before training (it
          must load, hold finite features and, for matrices, nIn feature and nOut label columns); the first bad
          one is named. The data trains as saved: no --feature-scale; data-parallel only; a MultiLayerNetwork or a
          ComputationGraph (one input, one output) JSON.
          Exported MultiDataSets (--format exported-multi): the same for a ComputationGraph JSON with any number
          of inputs and outputs (fitPathsMultiDataSet): each file is one minibatch written by
          multiDataSet.save(new File(dir, "batch-00017.bin")), or for an RDD of MultiDataSets by DL4J's
          BatchAndExportMultiDataSetsFunction (as above). Each file must load, hold as many feature and label
          arrays as the graph has inputs and outputs, with as many examples each, finite features and, for
          matrices, the nIn of the layers each input feeds and the nOut of each output layer. A graph with one
          output is evaluated as a classifier; with several, each output on its own line (a classifier's
          accuracy, precision, recall, F1; a regression's MSE, MAE, RMSE, R^2), with no accuracy= line.
        """.formatted(Defaults.EPOCHS, Defaults.BATCH_SIZE, Defaults.WORKERS, Defaults.WORKERS,
        Defaults.SLOT_WAIT_MS / 1000, Defaults.CHECKPOINTS_KEPT, Defaults.COLLECTIVE_TIMEOUT_MS / 1000);

    public JobOptions
    {
        require(model != null && !model.isBlank(), "--model", model, "a preset name or a JSON file");
        require(format.equals("auto") || format.equals("csv") || format.equals("libsvm") ||
            format.equals("parquet") || format.equals(EXPORTED) || format.equals(EXPORTED_MULTI), "--format",
            format, "csv, libsvm, parquet, exported, exported-multi or auto");
        final boolean files = EXPORTED.equals(format) || EXPORTED_MULTI.equals(format);
        require(!files || trainPath != null, "--format", format,
            "--train with it (the bundled data is CSV)");
        require(!files || Double.isNaN(featureScale), "--feature-scale", featureScale,
            "not with --format " + format + " (exported DataSets train as saved)");
        require(!files || DATA_PARALLEL.equals(mode), "--format", format,
            "only with --mode " + DATA_PARALLEL + " (model-split has no fitPaths)");
        require(!EXPORTED_MULTI.equals(format) || plot == null, "--plot", plot,
            "not with --format " + EXPORTED_MULTI + " (its per-epoch evaluation reads DataSets)");
        require(Double.isNaN(featureScale) || (featureScale > 0 && Double.isFinite(featureScale)),
            "--feature-scale", featureScale, "a positive number");
        require(epochs >= 1, "--epochs", epochs, ">= 1");
        require(batchSize >= 1, "--batch-size", batchSize, ">= 1");
        require(workers >= 1, "--workers", workers, ">= 1");
        require(updater.equals("adam") || updater.equals("nesterovs") || updater.equals("sgd"), "--updater", updater,
            "adam, nesterovs or sgd");
        require(learningRate > 0 && Double.isFinite(learningRate), "--learning-rate", learningRate, "> 0");
        require(DATA_PARALLEL.equals(mode) || MODEL_SPLIT.equals(mode), "--mode", mode,
            DATA_PARALLEL + " or " + MODEL_SPLIT);
        require(shards >= 1, "--shards", shards, ">= 1");
        require(splitLayers == null || (!splitLayers.isEmpty() && splitLayers.stream().allMatch(i -> i >= 0)),
            "--split-layers", splitLayers, "a comma-separated list of layer indices >= 0");
        require(splitLayers == null || MODEL_SPLIT.equals(mode), "--split-layers", splitLayers,
            "only with --mode " + MODEL_SPLIT);
        require(splitThreshold >= 1, "--split-threshold", splitThreshold, ">= 1");
        require(!splitPairing || MODEL_SPLIT.equals(mode), "--split-pairing", splitPairing,
            "only with --mode " + MODEL_SPLIT);
        require(plot == null || !MODEL_SPLIT.equals(mode), "--plot", plot,
            "only with --mode " + DATA_PARALLEL + " (model-split reports no per-step metrics)");
        require(slotWaitSeconds >= 0, "--slot-wait-seconds", slotWaitSeconds, ">= 0");
        require(checkpointEverySteps >= 0, "--checkpoint-every-steps", checkpointEverySteps, ">= 0");
        require(collectiveTimeoutSeconds >= 1, "--collective-timeout-seconds", collectiveTimeoutSeconds, ">= 1");
        require(checkpointsKept >= 1, "--checkpoints-kept", checkpointsKept, ">= 1");
        require(checkpointDir != null || (!resume && checkpointEverySteps == 0), "--checkpoint-dir", checkpointDir,
            "a folder when --resume or --checkpoint-every-steps is given");
        require(checkpointDir == null || DATA_PARALLEL.equals(mode), "--checkpoint-dir", checkpointDir,
            "only with --mode " + DATA_PARALLEL);
        require(plot == null || checkpointDir == null, "--plot", plot,
            "not with --checkpoint-dir (--plot trains one epoch per fit)");
        splitLayers = splitLayers == null ? null : List.copyOf(splitLayers);
    }

    public boolean modelSplit()
    {
        return MODEL_SPLIT.equals(mode);
    }

    /** Barrier tasks the training stage runs: shards in model-split mode, else workers. */
    public int tasks()
    {
        return modelSplit() ? shards : workers;
    }

    public static JobOptions defaults()
    {
        return new Builder().build();
    }

    /** Whether the data are exported DataSet files (--format exported). */
    public boolean exported()
    {
        return EXPORTED.equals(format);
    }

    /** Whether the data are exported MultiDataSet files (--format exported-multi). */
    public boolean exportedMulti()
    {
        return EXPORTED_MULTI.equals(format);
    }

    public boolean bundledData()
    {
        return trainPath == null;
    }

    /** The scale to apply: the given one, or 1/255 for the bundled 8-bit pixels. */
    public double effectiveFeatureScale()
    {
        return Double.isNaN(featureScale) ? (bundledData() ? 1.0 / 255 : 1.0) : featureScale;
    }

    /** Parses {@code args}; returns null when --help was asked for. */
    public static JobOptions parse(final String[] args)
    {
        final Builder b = new Builder();
        for (int i = 0; i < args.length; i++)
        {
            final String name = args[i];
            switch (name)
            {
                case "--help", "-h" ->
                {
                    return null;
                }
                case "--no-output" -> b.output = null;
                case "--no-metrics" -> b.metrics = null;
                case "--split-pairing" -> b.splitPairing = true;
                case "--resume" -> b.resume = true;
                default ->
                {
                    if (i + 1 >= args.length)
                    {
                        throw new TrainerConfigException("option " + name + " needs a value (see --help)");
                    }
                    b.set(name, args[++i]);
                }
            }
        }
        return b.build();
    }

    /** Mutable holder of the parsed values; {@link #build()} validates through the record. */
    private static final class Builder
    {
        private String model = "mnist-mlp";
        private String trainPath;
        private String testPath;
        private String format = "auto";
        private double featureScale = Double.NaN;
        private int epochs = Defaults.EPOCHS;
        private int batchSize = Defaults.BATCH_SIZE;
        private int workers = Defaults.WORKERS;
        private String updater = "adam";
        private double learningRate = 1e-3;
        private long seed = 42;
        private String output = "paratrain-model.zip";
        private String metrics = "paratrain-metrics.jsonl";
        private String master;
        private String mode = DATA_PARALLEL;
        private int shards = Defaults.WORKERS;
        private List<Integer> splitLayers;
        private long splitThreshold = 100_000;
        private boolean splitPairing;
        private String plot;
        private int slotWaitSeconds = (int)(Defaults.SLOT_WAIT_MS / 1000);
        private String checkpointDir;
        private int checkpointEverySteps;
        private int checkpointsKept = Defaults.CHECKPOINTS_KEPT;
        private boolean resume;
        private int collectiveTimeoutSeconds = (int)(Defaults.COLLECTIVE_TIMEOUT_MS / 1000);

        private void set(final String name, final String value)
        {
            switch (name)
            {
                case "--model" -> model = value;
                case "--train" -> trainPath = value;
                case "--test" -> testPath = value;
                case "--format" -> format = value.toLowerCase(Locale.ROOT);
                case "--feature-scale" -> featureScale = number(name, value);
                case "--epochs" -> epochs = integer(name, value);
                case "--batch-size" -> batchSize = integer(name, value);
                case "--workers" -> workers = integer(name, value);
                case "--updater" -> updater = value.toLowerCase(Locale.ROOT);
                case "--learning-rate" -> learningRate = number(name, value);
                case "--seed" -> seed = integer(name, value);
                case "--output" -> output = value;
                case "--metrics" -> metrics = value;
                case "--master" -> master = value;
                case "--mode" -> mode = value.toLowerCase(Locale.ROOT);
                case "--shards" -> shards = integer(name, value);
                case "--split-layers" -> splitLayers = integers(name, value);
                case "--split-threshold" -> splitThreshold = integer(name, value);
                case "--plot" -> plot = value;
                case "--slot-wait-seconds" -> slotWaitSeconds = integer(name, value);
                case "--checkpoint-dir" -> checkpointDir = value;
                case "--checkpoint-every-steps" -> checkpointEverySteps = integer(name, value);
                case "--checkpoints-kept" -> checkpointsKept = integer(name, value);
                case "--collective-timeout-seconds" -> collectiveTimeoutSeconds = integer(name, value);
                default -> throw new TrainerConfigException("unknown option " + name + " (see --help)");
            }
        }

        private JobOptions build()
        {
            return new JobOptions(model, trainPath, testPath, format, featureScale, epochs, batchSize, workers,
                updater, learningRate, seed, output, metrics, master, mode, shards, splitLayers, splitThreshold,
                splitPairing, plot, slotWaitSeconds, checkpointDir, checkpointEverySteps,
                checkpointsKept, resume, collectiveTimeoutSeconds);
        }
    }

    private static int integer(final String option, final String value)
    {
        try
        {
            return Integer.parseInt(value);
        }
        catch (final NumberFormatException ex)
        {
            throw new TrainerConfigException("option " + option + " expects an integer, got '" + value + "'");
        }
    }

    private static List<Integer> integers(final String option, final String value)
    {
        final List<Integer> values = new ArrayList<>();
        for (final String part : value.split(",", -1))
        {
            values.add(integer(option, part.trim()));
        }
        return values;
    }

    private static double number(final String option, final String value)
    {
        try
        {
            return Double.parseDouble(value);
        }
        catch (final NumberFormatException ex)
        {
            throw new TrainerConfigException("option " + option + " expects a number, got '" + value + "'");
        }
    }

    private static void require(final boolean ok, final String option, final Object value, final String expected)
    {
        if (!ok)
        {
            throw new TrainerConfigException("invalid " + option + " " + value + ": expected " + expected);
        }
    }
}
