package io.paratrain.sparktrainer.ml;

import io.paratrain.modelsplit.SplitConfig;
import io.paratrain.sparktrainer.DataParallelTrainer;
import io.paratrain.sparktrainer.Defaults;
import io.paratrain.sparktrainer.ModelSplitConfig;
import io.paratrain.sparktrainer.ModelSplitTrainer;
import io.paratrain.sparktrainer.TrainerConfig;
import io.paratrain.sparktrainer.TrainingListener;
import io.paratrain.sparktrainer.TrainingSummary;
import io.paratrain.sparktrainer.exceptions.TrainerConfigException;
import io.paratrain.sparktrainer.exceptions.TrainingInputException;
import io.paratrain.sparktrainer.job.ModelSource;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.ml.classification.ProbabilisticClassifier;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.IntArrayParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.LongParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.DefaultParamsWritable;
import org.apache.spark.ml.util.Identifiable$;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.StructType;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.dataset.DataSet;
import scala.Function1;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * A Spark ML {@code Estimator} that trains a DL4J network on a DataFrame with Paratrain's exact data-parallel
 * trainer ({@link DataParallelTrainer}): a vector {@code featuresCol} and a {@code labelCol} of class indices
 * 0..k-1 (e.g. from {@code StringIndexer}) in, a {@link ParatrainClassificationModel} out, usable in a
 * {@code Pipeline} and saved / loaded with ML persistence.
 * <p>
 * The network is either {@code modelJson} (a DL4J {@code MultiLayerConfiguration} in JSON, float32) or, when that
 * is empty, an MLP with ReLU {@code hiddenLayers} and a softmax output sized from the data, built exactly as the
 * job's presets ({@link ModelSource#mlp}) with {@code updater}, {@code learningRate} and {@code seed}. Columns are
 * checked before training: present, of the right type, features as wide as the network's input, labels integral
 * and within its outputs; then every row's features vector (not null, that size, finite in float32), a bad one
 * named by its row before anything is written. With {@code mode=model-split} it trains with {@link ModelSplitTrainer} instead: every
 * dense/output layer cut by columns into {@code shards} barrier tasks, {@code batchSizePerWorker} examples a step.
 */
public final class ParatrainClassifier
    extends ProbabilisticClassifier<Vector, ParatrainClassifier, ParatrainClassificationModel>
    implements DefaultParamsWritable
{
    private static final long serialVersionUID = 1L;
    public static final String DATA_PARALLEL = "data-parallel";
    public static final String MODEL_SPLIT = "model-split";

    private final String uid;
    private final Param<String> modelJson;
    private final IntArrayParam hiddenLayers;
    private final Param<String> updater;
    private final DoubleParam learningRate;
    private final LongParam seed;
    private final IntParam workers;
    private final IntParam batchSizePerWorker;
    private final IntParam epochs;
    private final Param<String> mode;
    private final IntParam shards;
    private final Param<String> metricsPath;
    private final Param<String> plotDir;
    private final IntParam slotWaitSeconds;
    /** Driver-side progress listeners; not parameters, so neither copied with the stage nor persisted. */
    private final transient List<TrainingListener> listeners = new ArrayList<>();

    public ParatrainClassifier()
    {
        this(Identifiable$.MODULE$.randomUID("paratrain"));
    }

    public ParatrainClassifier(final String uid)
    {
        this(PendingUid.hold(uid));
    }

    private ParatrainClassifier(final PendingUid.Token token)
    {
        this.uid = token.take();
        modelJson = new Param<>(this, "modelJson", "DL4J MultiLayerConfiguration JSON; empty = an MLP of " +
            "hiddenLayers sized from the data", validator(json -> true));
        hiddenLayers = new IntArrayParam(this, "hiddenLayers", "hidden layer sizes of the MLP used when modelJson " +
            "is empty (ReLU, then softmax)", validator((int[] sizes) -> Arrays.stream(sizes).allMatch(s -> s >= 1)));
        updater = new Param<>(this, "updater", "updater of the MLP: adam, nesterovs or sgd",
            validator((String name) -> Set.of("adam", "nesterovs", "sgd").contains(name)));
        learningRate = new DoubleParam(this, "learningRate", "learning rate of the MLP's updater (> 0)",
            validator((Object rate) -> (Double)rate > 0));
        seed = new LongParam(this, "seed", "weight initialisation seed of the MLP", validator(s -> true));
        workers = new IntParam(this, "workers", "data-parallel replicas, one Spark barrier task each (>= 1)",
            validator((Object n) -> (Integer)n >= 1));
        batchSizePerWorker = new IntParam(this, "batchSizePerWorker", "examples per replica per step (>= 1)",
            validator((Object n) -> (Integer)n >= 1));
        epochs = new IntParam(this, "epochs", "passes over the data (>= 1)", validator((Object n) -> (Integer)n >= 1));
        mode = new Param<>(this, "mode", "data-parallel (replicas, exact gradient all-reduce) or model-split " +
            "(every dense/output layer cut by columns into shards; batchSizePerWorker is then the whole step)",
            validator((String name) -> Set.of(DATA_PARALLEL, MODEL_SPLIT).contains(name)));
        shards = new IntParam(this, "shards", "model-split: column shards, one Spark barrier task each (>= 1)",
            validator((Object n) -> (Integer)n >= 1));
        metricsPath = new Param<>(this, "metricsPath", "local JSON-lines file of per-step metrics; empty = none",
            validator(path -> true));
        plotDir = new Param<>(this, "plotDir", "local folder for PNG charts of loss and throughput; empty = none",
            validator(path -> true));
        setDefault(modelJson, "");
        setDefault(hiddenLayers, new int[] {256});
        setDefault(updater, "adam");
        setDefault(learningRate, 1e-3);
        setDefault(seed, 42L);
        setDefault(workers, Defaults.WORKERS);
        setDefault(batchSizePerWorker, Defaults.BATCH_SIZE);
        setDefault(epochs, Defaults.EPOCHS);
        setDefault(mode, DATA_PARALLEL);
        setDefault(shards, Defaults.WORKERS);
        setDefault(metricsPath, "");
        slotWaitSeconds = new IntParam(this, "slotWaitSeconds", "longest wait for a cluster to offer a task slot " +
            "per barrier task before the fit fails (>= 0; local mode, which cannot gain slots, fails at once)",
            validator((Object n) -> (Integer)n >= 0));
        setDefault(plotDir, "");
        setDefault(slotWaitSeconds, (int)(Defaults.SLOT_WAIT_MS / 1000));
    }

    /** Scala's {@code T => Boolean}, serializable because params travel with the stage. */
    private static <T> Function1<T, Object> validator(final SerializablePredicate<T> predicate)
    {
        return (Function1<T, Object> & Serializable)value -> value != null && predicate.test(value);
    }

    @FunctionalInterface
    private interface SerializablePredicate<T> extends Serializable
    {
        boolean test(T value);
    }

    @Override
    public String uid()
    {
        return uid != null ? uid : PendingUid.current();
    }

    public Param<String> modelJson() { return modelJson; }
    public IntArrayParam hiddenLayers() { return hiddenLayers; }
    public Param<String> updater() { return updater; }
    public DoubleParam learningRate() { return learningRate; }
    public LongParam seed() { return seed; }
    public IntParam workers() { return workers; }
    public IntParam batchSizePerWorker() { return batchSizePerWorker; }
    public IntParam epochs() { return epochs; }
    public Param<String> mode() { return mode; }
    public IntParam shards() { return shards; }
    public Param<String> metricsPath() { return metricsPath; }
    public Param<String> plotDir() { return plotDir; }
    public IntParam slotWaitSeconds() { return slotWaitSeconds; }

    public ParatrainClassifier setModelJson(final String value) { return (ParatrainClassifier)set(modelJson, value); }
    public ParatrainClassifier setHiddenLayers(final int... value) { return (ParatrainClassifier)set(hiddenLayers, value); }
    public ParatrainClassifier setUpdater(final String value) { return (ParatrainClassifier)set(updater, value); }
    public ParatrainClassifier setLearningRate(final double value) { return (ParatrainClassifier)set(learningRate, value); }
    public ParatrainClassifier setSeed(final long value) { return (ParatrainClassifier)set(seed, value); }
    public ParatrainClassifier setWorkers(final int value) { return (ParatrainClassifier)set(workers, value); }
    public ParatrainClassifier setBatchSizePerWorker(final int value) { return (ParatrainClassifier)set(batchSizePerWorker, value); }
    public ParatrainClassifier setEpochs(final int value) { return (ParatrainClassifier)set(epochs, value); }
    public ParatrainClassifier setMode(final String value) { return (ParatrainClassifier)set(mode, value); }
    public ParatrainClassifier setShards(final int value) { return (ParatrainClassifier)set(shards, value); }
    public ParatrainClassifier setMetricsPath(final String value) { return (ParatrainClassifier)set(metricsPath, value); }
    public ParatrainClassifier setPlotDir(final String value) { return (ParatrainClassifier)set(plotDir, value); }
    public ParatrainClassifier setSlotWaitSeconds(final int value) { return (ParatrainClassifier)set(slotWaitSeconds, value); }

    public String getModelJson() { return getOrDefault(modelJson); }
    public int[] getHiddenLayers() { return getOrDefault(hiddenLayers); }
    public String getUpdater() { return getOrDefault(updater); }
    public double getLearningRate() { return (Double)getOrDefault(learningRate); }
    public long getSeed() { return (Long)getOrDefault(seed); }
    public int getWorkers() { return (Integer)getOrDefault(workers); }
    public int getBatchSizePerWorker() { return (Integer)getOrDefault(batchSizePerWorker); }
    public int getEpochs() { return (Integer)getOrDefault(epochs); }
    public String getMode() { return getOrDefault(mode); }
    public int getShards() { return (Integer)getOrDefault(shards); }
    public String getMetricsPath() { return getOrDefault(metricsPath); }
    public String getPlotDir() { return getOrDefault(plotDir); }
    public int getSlotWaitSeconds() { return (Integer)getOrDefault(slotWaitSeconds); }

    /** Receives every step and epoch of the fits this instance runs, on the driver. */
    public ParatrainClassifier addListener(final TrainingListener listener)
    {
        listeners.add(listener);
        return this;
    }

    /** Checks the columns against the configured network, so that a Pipeline fails before any stage trains. */
    @Override
    public StructType transformSchema(final StructType schema)
    {
        final String json = getModelJson();
        final Integer inputs = json.isEmpty() ? null : ModelSource.inputsAndClasses(configurationFromJson(json))[0];
        ColumnCheck.features(schema, getFeaturesCol(), inputs);
        ColumnCheck.label(schema, getLabelCol());
        return super.transformSchema(schema);
    }

    @Override
    public ParatrainClassificationModel train(final Dataset<?> dataset)
    {
        final int features = ColumnCheck.featureCount(dataset, getFeaturesCol());
        final MultiLayerConfiguration configuration = checkedConfiguration(features,
            ColumnCheck.classCount(dataset, getLabelCol()));
        final int classes = ModelSource.inputsAndClasses(configuration)[1];
        RowCheck.features(dataset, getFeaturesCol(), features); // before anything is written, naming the row
        final SplitConfig split = MODEL_SPLIT.equals(getMode()) ?
            new SplitConfig(getShards(), denseLayers(configuration)) : null;
        if (split != null)
        {
            ModelSplitTrainer.check(configuration, split);
            if (!getPlotDir().isEmpty())
            {
                throw new TrainerConfigException("plotDir needs per-step metrics, which model-split training does " +
                    "not report: use mode=" + DATA_PARALLEL + " or no plotDir");
            }
        }
        final MultiLayerNetwork network = new MultiLayerNetwork(configuration);
        network.init();

        final JavaSparkContext sc = JavaSparkContext.fromSparkContext(dataset.sparkSession().sparkContext());
        final TrainingHistory.Recorder history = new TrainingHistory.Recorder();
        final List<TrainingListener> all = new ArrayList<>(listeners);
        all.add(0, history);
        final MetricsOutput metrics = MetricsOutput.open(getMetricsPath(), getPlotDir());
        metrics.listener().ifPresent(all::add);

        final JavaRDD<DataSet> data = RowBatches.of(dataset.select(getFeaturesCol(), getLabelCol()).toDF(),
            features, classes).cache();
        final TrainingSummary summary;
        try
        {
            if (split == null)
            {
                final DataParallelTrainer trainer = new DataParallelTrainer(sc, trainerConfig(sc));
                all.forEach(trainer::addListener);
                summary = trainer.fit(network, data);
            }
            else
            {
                final ModelSplitTrainer trainer = modelSplitTrainer(sc, split);
                all.forEach(trainer::addListener);
                summary = trainer.fit(network, data);
            }
        }
        finally
        {
            data.unpersist(false);
            metrics.close();
        }
        metrics.plot();
        return new ParatrainClassificationModel(uid(), network, history.result(summary));
    }

    /** The data-parallel trainer's settings from the params. */
    TrainerConfig trainerConfig(final JavaSparkContext sc)
    {
        return TrainerConfig.builder()
            .workers(getWorkers())
            .batchSizePerWorker(getBatchSizePerWorker())
            .epochs(getEpochs())
            .ompThreadsPerWorker(sc.master().startsWith("local") ? 1 : 0)
            .slotWaitMs(getSlotWaitSeconds() * 1000L)
            .build();
    }

    /** The model-split trainer with the params' settings. */
    ModelSplitTrainer modelSplitTrainer(final JavaSparkContext sc, final SplitConfig split)
    {
        return new ModelSplitTrainer(sc, ModelSplitConfig.builder(split)
            .epochs(getEpochs())
            .batchSize(getBatchSizePerWorker())
            .ompThreadsPerShard(sc.master().startsWith("local") ? 1 : 0)
            .slotWaitMs(getSlotWaitSeconds() * 1000L)
            .build());
    }

    /** The network for data of {@code features} columns and labels 0..classesInData-1, checked against them. */
    private MultiLayerConfiguration checkedConfiguration(final int features, final int classesInData)
    {
        final MultiLayerConfiguration configuration = configuration(features, classesInData);
        final int[] shape = ModelSource.inputsAndClasses(configuration);
        if (shape[0] != features)
        {
            throw new TrainingInputException("column " + getFeaturesCol() + " holds vectors of size " + features +
                " but the network's first layer has nIn=" + shape[0]);
        }
        if (shape[1] < classesInData)
        {
            throw new TrainingInputException("column " + getLabelCol() + " has labels up to " + (classesInData - 1) +
                " but the network has " + shape[1] + " outputs (labels must be 0.." + (shape[1] - 1) + ")");
        }
        return configuration;
    }

    private MultiLayerConfiguration configuration(final int features, final int classes)
    {
        final String json = getModelJson();
        if (!json.isEmpty())
        {
            return configurationFromJson(json);
        }
        return ModelSource.mlp(features, getHiddenLayers(), Math.max(classes, 2),
            ModelSource.updater(getUpdater(), getLearningRate()), getSeed());
    }

    /** Indices of the dense and output layers: what model-split mode cuts. */
    private static Set<Integer> denseLayers(final MultiLayerConfiguration configuration)
    {
        final Set<Integer> layers = new TreeSet<>();
        for (int i = 0; i < configuration.getConfs().size(); i++)
        {
            final Layer layer = configuration.getConf(i).getLayer();
            if (layer instanceof DenseLayer || layer instanceof OutputLayer)
            {
                layers.add(i);
            }
        }
        return layers;
    }

    private static MultiLayerConfiguration configurationFromJson(final String json)
    {
        try
        {
            return MultiLayerConfiguration.fromJson(json);
        }
        catch (final RuntimeException ex)
        {
            throw new TrainingInputException("modelJson is not a DL4J MultiLayerConfiguration: " + ex.getMessage(), ex);
        }
    }

    @Override
    public ParatrainClassifier copy(final ParamMap extra)
    {
        final ParatrainClassifier copy = (ParatrainClassifier)defaultCopy(extra);
        copy.listeners.addAll(listeners);
        return copy;
    }

    /** ML persistence: {@code ParatrainClassifier.load(path)}, and what {@code Pipeline.load} calls. */
    public static MLReader<ParatrainClassifier> read()
    {
        return new DefaultParamsReader<>();
    }

    public static ParatrainClassifier load(final String path)
    {
        return read().load(path);
    }

}
