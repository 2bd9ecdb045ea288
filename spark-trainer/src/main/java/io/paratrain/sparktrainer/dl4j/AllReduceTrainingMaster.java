package io.paratrain.sparktrainer.dl4j;

import io.paratrain.sparktrainer.DataParallelTrainer;
import io.paratrain.sparktrainer.TrainerConfig;
import io.paratrain.sparktrainer.TrainingSummary;
import org.apache.spark.SparkContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.core.storage.StatsStorageRouter;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.deeplearning4j.spark.api.TrainingHook;
import org.deeplearning4j.spark.api.TrainingMaster;
import org.deeplearning4j.spark.api.TrainingResult;
import org.deeplearning4j.spark.api.TrainingWorker;
import org.deeplearning4j.spark.api.stats.SparkTrainingStats;
import org.deeplearning4j.spark.impl.graph.SparkComputationGraph;
import org.deeplearning4j.spark.impl.multilayer.SparkDl4jMultiLayer;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.deeplearning4j.core.loader.DataSetLoader;
import org.deeplearning4j.core.loader.MultiDataSetLoader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Collection;
import java.util.Locale;

/**
 * The drop-in for DL4J Spark: {@code new SparkDl4jMultiLayer(sc, conf, new AllReduceTrainingMaster(config)).fit(rdd)}
 * trains with Paratrain's synchronous, exact all-reduce instead of parameter averaging or DL4J's lossy
 * asynchronous gradient sharing. This package is the only one that touches dl4j-spark.
 * <p>
 * Supported: {@link SparkDl4jMultiLayer} and {@link SparkComputationGraph} with {@code JavaRDD<DataSet>} (one
 * input, one output), {@link SparkComputationGraph#fitMultiDataSet} with {@code JavaRDD<MultiDataSet>} (any number
 * of inputs and outputs), features and labels of any rank (images, time series of different lengths) with or
 * without masks, and the {@code fitPaths} of both (DataSets, or for a graph also MultiDataSets, exported to files,
 * loaded where they are read). The SPI's other entry points (worker instances, hooks, DL4J listeners on the workers,
 * DL4J's training stats) are refused with an explanation rather than ignored, and so is BatchNormalization on
 * rank-3 input (see {@code SyncBatchNorm}).
 */
public final class AllReduceTrainingMaster implements TrainingMaster<TrainingResult, TrainingWorker<TrainingResult>>
{
    private static final Logger LOG = LoggerFactory.getLogger(AllReduceTrainingMaster.class);

    private final TrainerConfig config;
    private TrainingSummary lastSummary;

    public AllReduceTrainingMaster(final TrainerConfig config)
    {
        this.config = config;
    }

    public TrainerConfig config()
    {
        return config;
    }

    /** What the last fit did, or null before the first. */
    public TrainingSummary lastSummary()
    {
        return lastSummary;
    }

    /**
     * Trains {@code config.epochs()} epochs. {@link SparkDl4jMultiLayer#fit(JavaRDD)} counts one epoch itself once
     * this returns ({@code network.incrementEpochCount()}, as for DL4J's own masters, which make one pass per fit),
     * while the replicas count every epoch they train, so that epoch schedules are right within the fit: the last
     * of those is taken back here, leaving the wrapper's increment to complete the count. Otherwise each fit would
     * advance the epoch counter, and with it an epoch-scheduled learning rate, by one more than it trained.
     */
    @Override
    public void executeTraining(final SparkDl4jMultiLayer network, final JavaRDD<DataSet> trainingData)
    {
        final MultiLayerNetwork model = network.getNetwork();
        lastSummary = new DataParallelTrainer(network.getSparkContext(), config).fit(model, trainingData);
        model.setEpochCount(model.getEpochCount() - 1);
        network.setScore(lastSummary.finalLoss());
    }

    /**
     * As {@link #executeTraining(SparkDl4jMultiLayer, JavaRDD)}: {@link SparkComputationGraph#fit(JavaRDD)} too
     * counts one epoch once this returns.
     */
    @Override
    public void executeTraining(final SparkComputationGraph graph, final JavaRDD<DataSet> trainingData)
    {
        final ComputationGraph model = graph.getNetwork();
        lastSummary = new DataParallelTrainer(graph.getSparkContext(), config).fit(model, trainingData);
        model.getConfiguration().setEpochCount(model.getEpochCount() - 1);
        graph.setScore(lastSummary.finalLoss());
    }

    /**
     * {@link SparkComputationGraph#fitMultiDataSet(JavaRDD)}: as {@link #executeTraining(SparkComputationGraph,
     * JavaRDD)}, on MultiDataSets ({@link DataParallelTrainer#fitMultiDataSet}).
     */
    @Override
    public void executeTrainingMDS(final SparkComputationGraph graph, final JavaRDD<MultiDataSet> trainingData)
    {
        final ComputationGraph model = graph.getNetwork();
        lastSummary = new DataParallelTrainer(graph.getSparkContext(), config).fitMultiDataSet(model, trainingData);
        model.getConfiguration().setEpochCount(model.getEpochCount() - 1);
        graph.setScore(lastSummary.finalLoss());
    }

    /**
     * {@code SparkDl4jMultiLayer.fitPaths}, {@code SparkComputationGraph.fitPaths} (DataSets) and
     * {@code SparkComputationGraph.fitPathsMultiDataSet} (MultiDataSets, when {@code mdsLoader} is given): the files
     * are loaded with the given loader where they are read ({@link DataParallelTrainer#fitPaths(MultiLayerNetwork,
     * JavaRDD, DataSetLoader)}); the epoch count is kept as in {@link #executeTraining(SparkDl4jMultiLayer,
     * JavaRDD)}.
     */
    @Override
    public void executeTrainingPaths(final SparkDl4jMultiLayer network, final SparkComputationGraph graph,
        final JavaRDD<String> trainingDataPaths, final DataSetLoader dsLoader, final MultiDataSetLoader mdsLoader)
    {
        if (network != null)
        {
            final MultiLayerNetwork model = network.getNetwork();
            final DataParallelTrainer trainer = new DataParallelTrainer(network.getSparkContext(), config);
            lastSummary = dsLoader == null ? trainer.fitPaths(model, trainingDataPaths) :
                trainer.fitPaths(model, trainingDataPaths, dsLoader);
            model.setEpochCount(model.getEpochCount() - 1);
            network.setScore(lastSummary.finalLoss());
            return;
        }
        final ComputationGraph model = graph.getNetwork();
        final DataParallelTrainer trainer = new DataParallelTrainer(graph.getSparkContext(), config);
        lastSummary = mdsLoader != null ? trainer.fitPathsMultiDataSet(model, trainingDataPaths, mdsLoader) :
            dsLoader != null ? trainer.fitPaths(model, trainingDataPaths, dsLoader) :
            trainer.fitPaths(model, trainingDataPaths);
        model.getConfiguration().setEpochCount(model.getEpochCount() - 1);
        graph.setScore(lastSummary.finalLoss());
    }

    @Override
    public TrainingWorker<TrainingResult> getWorkerInstance(final SparkDl4jMultiLayer network)
    {
        throw unsupported("getWorkerInstance (replicas live inside the barrier stage)");
    }

    @Override
    public TrainingWorker<TrainingResult> getWorkerInstance(final SparkComputationGraph graph)
    {
        throw unsupported("getWorkerInstance (replicas live inside the barrier stage)");
    }

    @Override
    public void addHook(final TrainingHook trainingHook)
    {
        throw unsupported("TrainingHooks");
    }

    @Override
    public void removeHook(final TrainingHook trainingHook)
    {
        throw unsupported("TrainingHooks");
    }

    @Override
    public void setListeners(final Collection<TrainingListener> listeners)
    {
        if (listeners != null && !listeners.isEmpty())
        {
            throw unsupported("DL4J TrainingListeners on the workers (use io.paratrain.sparktrainer.TrainingListener " +
                "with DataParallelTrainer)");
        }
    }

    @Override
    public void setListeners(final StatsStorageRouter router, final Collection<TrainingListener> listeners)
    {
        setListeners(listeners);
    }

    @Override
    public void setCollectTrainingStats(final boolean collectTrainingStats)
    {
        if (collectTrainingStats)
        {
            throw unsupported("DL4J's SparkTrainingStats (per-step metrics go to io.paratrain.sparktrainer." +
                "TrainingListener)");
        }
    }

    @Override
    public boolean getIsCollectTrainingStats()
    {
        return false;
    }

    @Override
    public SparkTrainingStats getTrainingStats()
    {
        return null;
    }

    @Override
    public boolean deleteTempFiles(final JavaSparkContext sc)
    {
        return true; // nothing is written to temporary files
    }

    @Override
    public boolean deleteTempFiles(final SparkContext sc)
    {
        return true;
    }

    @Override
    public String toJson()
    {
        return String.format(Locale.ROOT, "{\"@class\":\"%s\",\"workers\":%d,\"batchSizePerWorker\":%d,\"epochs\":%d," +
            "\"checksumEverySteps\":%d,\"collectiveTimeoutMs\":%d,\"ompThreadsPerWorker\":%d,\"shardedUpdate\":%b}",
            getClass().getName(), config.workers(), config.batchSizePerWorker(), config.epochs(),
            config.checksumEverySteps(), config.collectiveTimeoutMs(), config.ompThreadsPerWorker(),
            config.shardedUpdate());
    }

    @Override
    public String toYaml()
    {
        return String.format(Locale.ROOT, "'@class': %s%nworkers: %d%nbatchSizePerWorker: %d%nepochs: %d%n" +
            "checksumEverySteps: %d%ncollectiveTimeoutMs: %d%nompThreadsPerWorker: %d%nshardedUpdate: %b%n",
            getClass().getName(), config.workers(), config.batchSizePerWorker(), config.epochs(),
            config.checksumEverySteps(), config.collectiveTimeoutMs(), config.ompThreadsPerWorker(),
            config.shardedUpdate());
    }

    private UnsupportedOperationException unsupported(final String what)
    {
        LOG.debug("refusing {}", what);
        return new UnsupportedOperationException("AllReduceTrainingMaster does not support " + what +
            "; it trains MultiLayerNetworks and ComputationGraphs from JavaRDD<DataSet> via SparkDl4jMultiLayer.fit " +
            "and SparkComputationGraph.fit, and ComputationGraphs from JavaRDD<MultiDataSet> via " +
            "SparkComputationGraph.fitMultiDataSet");
    }
}
