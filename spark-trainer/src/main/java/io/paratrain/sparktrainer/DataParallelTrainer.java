package io.paratrain.sparktrainer;

import io.paratrain.sparktrainer.exceptions.TrainerConfigException;
import io.paratrain.sparktrainer.exceptions.TrainerException;
import io.paratrain.sparktrainer.exceptions.TrainingInputException;
import io.paratrain.sparktrainer.internal.stage.BarrierRing;
import io.paratrain.sparktrainer.internal.stage.BarrierSlots;
import io.paratrain.sparktrainer.internal.stage.BarrierTimers;
import io.paratrain.sparktrainer.internal.dataparallel.BarrierTrainingTask;
import io.paratrain.sparktrainer.internal.channel.ChannelCounters;
import io.paratrain.sparktrainer.internal.channel.ChannelKey;
import io.paratrain.sparktrainer.internal.data.CountedSnapshot;
import io.paratrain.sparktrainer.internal.checkpoint.Checkpoint;
import io.paratrain.sparktrainer.internal.checkpoint.CheckpointStore;
import io.paratrain.sparktrainer.internal.data.ExampleExchange;
import io.paratrain.sparktrainer.internal.data.ExampleLayout;
import io.paratrain.sparktrainer.internal.data.ExamplePlan;
import io.paratrain.sparktrainer.internal.data.ExampleRouting;
import io.paratrain.sparktrainer.internal.data.ExportedDataSets;
import io.paratrain.sparktrainer.internal.driver.ModelReceiver;
import io.paratrain.sparktrainer.internal.driver.ModelSender;
import io.paratrain.sparktrainer.internal.snapshot.ModelSnapshot;
import io.paratrain.sparktrainer.internal.data.PartitionShape;
import io.paratrain.sparktrainer.internal.driver.ProgressServer;
import io.paratrain.sparktrainer.internal.driver.SameJvmHandoff;
import io.paratrain.sparktrainer.internal.snapshot.ShippedBytes;
import io.paratrain.sparktrainer.internal.snapshot.SnapshotBroadcast;
import org.apache.spark.Dependency;
import org.apache.spark.ShuffleDependency;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.rdd.RDD;
import org.apache.spark.util.LongAccumulator;
import org.deeplearning4j.core.loader.DataSetLoader;
import org.deeplearning4j.core.loader.impl.SerializedDataSetLoader;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.linalg.dataset.DataSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Function1;
import scala.collection.JavaConverters;
import scala.reflect.ClassTag;
import scala.reflect.ClassTag$;

import java.io.IOException;
import java.io.Serializable;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Synchronous data-parallel training of a DL4J {@link MultiLayerNetwork} on Spark: the direct Java API.
 * <pre>{@code
 * DataParallelTrainer trainer = new DataParallelTrainer(sc, TrainerConfig.builder().workers(4).build());
 * TrainingSummary summary = trainer.fit(network, trainingData);   // trains `network` in place
 * Evaluation evaluation = trainer.evaluate(network, testData);
 * }</pre>
 * A fit is one Spark barrier stage with one replica per task. Every replica starts from the network's current
 * state, trains on its share of each global step (see {@link ExamplePlan}), and averages gradients with an exact
 * ring all-reduce after every step, so the result equals single-process training with batch
 * workers x batchSizePerWorker on the same data in the same order.
 */
public final class DataParallelTrainer
{
    private static final Logger LOG = LoggerFactory.getLogger(DataParallelTrainer.class);

    private final JavaSparkContext sc;
    private final TrainerConfig config;
    private final List<TrainingListener> listeners = new CopyOnWriteArrayList<>();

    public DataParallelTrainer(final JavaSparkContext sc, final TrainerConfig config)
    {
        this.sc = sc;
        this.config = config;
    }

    public TrainerConfig config()
    {
        return config;
    }

    public DataParallelTrainer addListener(final TrainingListener listener)
    {
        listeners.add(listener);
        return this;
    }

    /**
     * Trains {@code network} in place on {@code data} (DataSets of any minibatch size, in RDD order). The data is
     * read twice (a count, then the routing to the replicas): cache it if it is expensive to compute.
     */
    public TrainingSummary fit(final MultiLayerNetwork network, final JavaRDD<DataSet> data)
    {
        BarrierTimers.releaseWhenStopped(sc.sc());
        final long sessionId = new SecureRandom().nextLong() | 1L;
        final AutoCloseable prelaunch = sc.isLocal() ? BarrierRing.prelaunchLocal(sessionId,
            config.collectiveTimeoutMs()) : null;
        try
        {
            return fit(network, data, sessionId);
        }
        finally
        {
            if (prelaunch != null)
            {
                closeQuietly(prelaunch);
            }
        }
    }

    /**
     * Trains {@code network} in place on DataSets exported to files ({@code DataSet.save}, as DL4J's
     * {@code fitPaths} reads them), one DataSet per path on any Hadoop file system, in the paths' order. Each file is
     * loaded only where it is read, so neither the driver nor a replica holds the epoch; a replica whose examples
     * exceed {@link TrainerConfig#spillAboveBytes} spills them. A file that cannot be loaded fails the fit with its
     * path.
     */
    public TrainingSummary fitPaths(final MultiLayerNetwork network, final JavaRDD<String> paths)
    {
        return fitPaths(network, paths, new SerializedDataSetLoader());
    }

    /** As {@link #fitPaths(MultiLayerNetwork, JavaRDD)}, loading each file with {@code loader}. */
    public TrainingSummary fitPaths(final MultiLayerNetwork network, final JavaRDD<String> paths,
        final DataSetLoader loader)
    {
        return fit(network, ExportedDataSets.load(sc, paths, loader));
    }

    private TrainingSummary fit(final MultiLayerNetwork network, final JavaRDD<DataSet> data, final long sessionId)
    {
        final long planStartNs = System.nanoTime();
        // before the counting job: local mode fails at once, a cluster's executors join meanwhile
        BarrierSlots.await(sc, config.workers(), config.slotWaitMs(), "the data-parallel fit");
        final CountedSnapshot start = CountedSnapshot.take(network, data);
        final ModelSnapshot initial = start.snapshot();
        final List<PartitionShape> partitions = start.partitions();
        final long[] partitionCounts = start.counts();
        final long total = java.util.Arrays.stream(partitionCounts).sum();
        if (total == 0)
        {
            throw new TrainingInputException("the training data is empty: nothing to train on");
        }
        if (total < config.workers())
        {
            throw new TrainingInputException("more workers (" + config.workers() + ") than training examples (" +
                total + "): use at most " + total + " workers");
        }
        final ExamplePlan plan = new ExamplePlan(total, config.workers(), config.batchSizePerWorker());
        PartitionShape.checkCombinable(partitions);
        final long[] layout = directLayout(data, partitions, total);
        LOG.info("Data-parallel fit: {} examples per epoch (all used), {} steps of {} = {} workers x {}, {} epochs " +
            "(counted in {} ms); {}", total, plan.stepsPerEpoch(), plan.globalBatchSize(), config.workers(),
            config.batchSizePerWorker(), config.epochs(), (System.nanoTime() - planStartNs) / 1_000_000,
            layout != null ? "examples exchanged over the ring from the data's own partitions" :
            "examples routed through a Spark shuffle");
        prepareCheckpoints(plan);

        final ChannelKey channelKey = ChannelKey.forFit(sc.getConf(), sc.sc().applicationId(), "Data-parallel fit");
        final ChannelCounters channelCounters = ChannelCounters.register(sc.sc());
        // Not the session id: that one names the media driver's folder in /dev/shm, where any local user can read
        // it, and the token is all that admits progress lines.
        final byte[] tokenBytes = new byte[16];
        new SecureRandom().nextBytes(tokenBytes);
        final String token = HexFormat.of().formatHex(tokenBytes);
        final String description = String.format("Paratrain data-parallel fit: %d workers x batch %d, %d epochs, " +
            "%d examples", config.workers(), config.batchSizePerWorker(), config.epochs(), total);
        final long startNs = System.nanoTime();
        final LastLoss lastLoss = new LastLoss();
        final List<TrainingListener> all = new ArrayList<>(listeners);
        all.add(lastLoss);
        final ModelSnapshot trained;
        // In local mode the tasks run in this JVM: the models are handed to them by reference, not broadcast and
        // sent back over a socket.
        final SameJvmHandoff handoff = sc.isLocal() ? SameJvmHandoff.open(sessionId, initial) : null;
        final SnapshotBroadcast broadcast = handoff == null ? SnapshotBroadcast.of(sc, initial) : null;
        try (ProgressServer progress = new ProgressServer(driverHost(), token, all);
            ModelReceiver modelReceiver = handoff != null ? null : new ModelReceiver(driverHost(), sessionId,
                config.collectiveTimeoutMs()))
        {
            // The stage's accumulator table in the Spark UI shows the epochs done (refreshed with executor
            // heartbeats); the job description names the fit.
            final LongAccumulator epochsDone = sc.sc().longAccumulator("paratrain epochs done (of " +
                config.epochs() + ")");
            final BarrierTrainingTask task = new BarrierTrainingTask(broadcast, config, plan, sessionId, channelKey,
                channelCounters, progress.address(), token, modelReceiver == null ? null : modelReceiver.address(),
                epochsDone);
            sc.setJobDescription(description);
            final boolean retryable = config.checkpoint() != null;
            final List<ModelSender.Delivery> results = layout != null
                ? runBarrierStage(data.rdd(), partition -> task.trainOwnPartition(partition, partitionCounts,
                    layout), retryable)
                : runBarrierStage(ExampleRouting.route(data, partitionCounts, plan).rdd(), task::train, retryable);
            if (results.size() != 1)
            {
                throw new TrainerException("expected the model from rank 0, got " + results.size() + " models");
            }
            trained = results.get(0).resolve(handoff != null ? handoff : modelReceiver);
        }
        catch (final IOException ex)
        {
            throw new TrainerException("cannot open the progress or model socket on the driver", ex);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new TrainerException("interrupted while closing the progress and model sockets", ex);
        }
        finally
        {
            sc.setJobDescription(null);
            if (broadcast != null)
            {
                broadcast.destroy();
            }
            if (handoff != null)
            {
                handoff.close();
            }
        }
        trained.applyTo(network);
        final double seconds = (System.nanoTime() - startNs) / 1e9;
        return new TrainingSummary(total, plan.stepsPerEpoch(), config.epochs(), seconds,
            total * config.epochs() / seconds, lastLoss.value,
            channelCounters.report(channelKey.authenticated(), "Data-parallel fit"));
    }

    /**
     * Accuracy, precision, recall, F1 and confusion matrix of {@code network} on {@code data}, computed on
     * executors.
     */
    public Evaluation evaluate(final MultiLayerNetwork network, final JavaRDD<DataSet> data)
    {
        final SnapshotBroadcast broadcast = SnapshotBroadcast.of(sc, ModelSnapshot.of(network));
        try
        {
            sc.setJobDescription("Paratrain evaluation");
            final int classes = network.layerSize(network.getnLayers() - 1);
            // as Java-serialized bytes, whatever spark.serializer is (ShippedBytes)
            final List<byte[]> partial = data.mapPartitions(batches ->
            {
                final MultiLayerNetwork replica = broadcast.value().restore();
                final Evaluation evaluation = new Evaluation(classes);
                // with the masks, as MultiLayerNetwork.evaluate does: padded time steps count for nothing
                batches.forEachRemaining(ds -> evaluation.eval(ds.getLabels(), replica.output(ds.getFeatures(),
                    false, ds.getFeaturesMaskArray(), ds.getLabelsMaskArray()), ds.getLabelsMaskArray()));
                return List.of(ShippedBytes.encodeJava(evaluation)).iterator();
            }).collect();
            final Evaluation merged = new Evaluation(classes);
            partial.forEach(bytes -> merged.merge(ShippedBytes.decodeJava(bytes, Evaluation.class)));
            return merged;
        }
        finally
        {
            sc.setJobDescription(null);
            broadcast.destroy();
        }
    }

    private static void closeQuietly(final AutoCloseable prelaunch)
    {
        try
        {
            prelaunch.close();
        }
        catch (final Exception ex)
        {
            LOG.debug("Giving up the prelaunched media driver: {}", ex.toString());
        }
    }

    private String driverHost()
    {
        return sc.getConf().get("spark.driver.host", "127.0.0.1");
    }

    /** A fit that does not resume starts a new series: old checkpoints would otherwise be resumed on a retry. */
    private void prepareCheckpoints(final ExamplePlan plan)
    {
        final CheckpointConfig checkpoint = config.checkpoint();
        if (checkpoint == null)
        {
            return;
        }
        final CheckpointStore store = new CheckpointStore(checkpoint.directory(), checkpoint.keep(),
            sc.hadoopConfiguration());
        if (checkpoint.resume())
        {
            // checked here too, so that a wrong choice fails once on the driver rather than in every stage attempt
            final Checkpoint newest = store.newestValid().orElse(null);
            if (newest != null && !newest.plan().equals(plan))
            {
                throw new TrainerConfigException("cannot resume: checkpoint " +
                    CheckpointStore.fileName(newest.globalStep()) + " in " + store + " was written for " +
                    newest.plan() + ", this fit has " + plan + ": resume with the same data, workers and batch " +
                    "size, or use another checkpoint folder");
            }
            LOG.info("Resuming from {}", newest == null ? "the network as given: no valid checkpoint in " + store :
                CheckpointStore.fileName(newest.globalStep()) + " in " + store + " (epoch " + newest.epoch() +
                ", step " + newest.step() + ")");
        }
        else
        {
            final int deleted = store.deleteAll();
            if (deleted > 0)
            {
                LOG.warn("Deleted {} checkpoint(s) of an earlier fit in {} (not resuming)", deleted, store);
            }
        }
    }

    /** The body of a barrier task over partitions of {@code T}; serializable, as Spark ships it. */
    private interface TaskBody<T> extends Serializable
    {
        Iterator<ModelSender.Delivery> train(Iterator<T> partition);
    }

    /**
     * The {@link ExampleLayout} of every DataSet when the replicas can take their examples straight from the data's
     * own partitions over the ring ({@link ExampleExchange}): one partition per replica, one layout of FLOAT arrays
     * (any rank, masks included), at most {@link ExampleExchange#MAX_DIRECT_BYTES}; null when the examples go
     * through a Spark shuffle instead (also time series of different lengths, which the shuffle's receiving side
     * pads).
     */
    private long[] directLayout(final JavaRDD<DataSet> data, final List<PartitionShape> partitions, final long total)
    {
        if (!samePartitionsWithinStage(data.rdd(), config.workers()))
        {
            return null;
        }
        final long[] layout = PartitionShape.commonLayout(partitions);
        if (layout == null)
        {
            return null;
        }
        final long rowFloats = java.util.Arrays.stream(ExampleLayout.exampleElements(layout)).sum();
        return rowFloats <= Integer.MAX_VALUE / Float.BYTES && total * rowFloats * Float.BYTES <=
            ExampleExchange.MAX_DIRECT_BYTES ? layout : null;
    }

    /**
     * Whether {@code rdd} and every RDD it derives from within its stage (up to a shuffle) have {@code partitions}
     * partitions: Spark refuses a barrier stage over anything else (say, a coalesce or union).
     */
    private static boolean samePartitionsWithinStage(final RDD<?> rdd, final int partitions)
    {
        if (rdd.getNumPartitions() != partitions)
        {
            return false;
        }
        for (final Dependency<?> dependency : JavaConverters.seqAsJavaList(rdd.dependencies()))
        {
            if (!(dependency instanceof ShuffleDependency<?, ?, ?>) &&
                !samePartitionsWithinStage(dependency.rdd(), partitions))
            {
                return false;
            }
        }
        return true;
    }

    /** The deliveries travel as bytes ({@link ShippedBytes}): Spark may serialize with Kryo, which fails on records. */
    private static <T> List<ModelSender.Delivery> runBarrierStage(final RDD<T> input, final TaskBody<T> task,
        final boolean retryable)
    {
        final ClassTag<byte[]> tag = ClassTag$.MODULE$.apply(byte[].class);
        final Function1<scala.collection.Iterator<T>, scala.collection.Iterator<byte[]>> body =
            (Function1<scala.collection.Iterator<T>, scala.collection.Iterator<byte[]>> & Serializable)
            partition -> JavaConverters.asScalaIterator(task.train(JavaConverters.asJavaIterator(partition)))
                .map(ShippedBytes::encodeDelivery);
        final RDD<byte[]> models = input.barrier().mapPartitions(body, false, tag);
        // A shuffle after the barrier stage makes it a ShuffleMapStage, which Spark re-runs as a whole when one of
        // its tasks fails (up to spark.stage.maxConsecutiveAttempts); a failed barrier ResultStage aborts the job.
        // The retried attempt resumes from the newest checkpoint.
        final List<byte[]> results = retryable ? new JavaRDD<>(models, tag).repartition(1).collect() :
            new JavaRDD<>(models, tag).collect();
        return results.stream().map(ShippedBytes::decodeDelivery).toList();
    }

    private static final class LastLoss implements TrainingListener
    {
        private volatile double value = Double.NaN;

        @Override
        public void onStep(final StepMetrics metrics)
        {
            value = metrics.loss();
        }
    }
}
