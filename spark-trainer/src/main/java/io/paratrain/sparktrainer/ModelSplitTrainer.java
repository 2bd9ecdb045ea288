package io.paratrain.sparktrainer;

import io.paratrain.modelsplit.SplitConfig;
import io.paratrain.modelsplit.exceptions.ModelSplitException;
import io.paratrain.modelsplit.ModelSupport;
import io.paratrain.sparktrainer.exceptions.ShardLostException;
import io.paratrain.sparktrainer.exceptions.TrainerConfigException;
import io.paratrain.sparktrainer.exceptions.TrainerException;
import io.paratrain.sparktrainer.exceptions.TrainingInputException;
import io.paratrain.sparktrainer.internal.stage.BarrierSlots;
import io.paratrain.sparktrainer.internal.stage.BarrierTimers;
import io.paratrain.sparktrainer.internal.channel.ChannelCounters;
import io.paratrain.sparktrainer.internal.channel.ChannelKey;
import io.paratrain.sparktrainer.internal.data.CountedSnapshot;
import io.paratrain.sparktrainer.internal.data.ExamplePlan;
import io.paratrain.sparktrainer.internal.data.ExampleRouting;
import io.paratrain.sparktrainer.internal.snapshot.ModelSnapshot;
import io.paratrain.sparktrainer.internal.snapshot.ShippedBytes;
import io.paratrain.sparktrainer.internal.snapshot.SnapshotBroadcast;
import io.paratrain.sparktrainer.internal.modelsplit.SplitBarrierTask;
import io.paratrain.sparktrainer.internal.stage.StageFailures;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.rdd.RDD;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.dataset.DataSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Function1;
import scala.Tuple2;
import scala.collection.JavaConverters;
import scala.reflect.ClassTag;
import scala.reflect.ClassTag$;

import java.io.Serializable;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.List;
import java.util.TreeSet;

/**
 * Model-split training of a DL4J {@link MultiLayerNetwork} on Spark: the chosen dense/output layers are cut by
 * columns into N shards, one per task of a single Spark barrier stage.
 * <pre>{@code
 * ModelSplitTrainer trainer = new ModelSplitTrainer(sc, SplitConfig.of(2, 0, 1), epochs, 64, 120_000);
 * TrainingSummary summary = trainer.fit(network, trainingData);   // trains `network` in place
 * }</pre>
 * The data is regrouped into minibatches of {@code batchSize} in RDD order (the last may be smaller; none is
 * dropped) and all of it goes to the task of rank 0, the coordinator, which runs the unsplit layers, the loss and
 * shard 0; ranks 1..N-1 hold no data, only their shards. The result equals {@code MultiLayerNetwork.fit} on the
 * same minibatches, up to the order of float additions (see {@link io.paratrain.modelsplit.SplitRank}).
 */
public final class ModelSplitTrainer
{
    private static final Logger LOG = LoggerFactory.getLogger(ModelSplitTrainer.class);
    private static final String JOB_GROUP = "spark.jobGroup.id";
    private static final String JOB_DESCRIPTION = "spark.job.description";
    private static final String JOB_INTERRUPT = "spark.job.interruptOnCancel";
    /** How long the driver waits for a task's own error (listener events) after the stage failed. */
    private static final long FAILURE_EVENT_WAIT_MS = 2_000;

    private final JavaSparkContext sc;
    private final SplitConfig split;
    private final int epochs;
    private final int batchSize;
    private final long collectiveTimeoutMs;
    private final long slotWaitMs;
    private SplitBarrierTask.Fault fault;

    /**
     * @param split               shards (= barrier tasks, needs that many free task slots) and the layers to split.
     * @param epochs              passes over the data (>= 1).
     * @param batchSize           examples per step (>= 1).
     * @param collectiveTimeoutMs longest wait for a shard before the stage fails (> 0).
     */
    public ModelSplitTrainer(final JavaSparkContext sc, final SplitConfig split, final int epochs,
        final int batchSize, final long collectiveTimeoutMs)
    {
        this(sc, split, epochs, batchSize, collectiveTimeoutMs, TrainerConfig.DEFAULT_SLOT_WAIT_MS);
    }

    /**
     * @param slotWaitMs longest wait on the driver for a cluster to offer a task slot per shard (>= 0; local mode
     *                   fails at once).
     */
    public ModelSplitTrainer(final JavaSparkContext sc, final SplitConfig split, final int epochs,
        final int batchSize, final long collectiveTimeoutMs, final long slotWaitMs)
    {
        require(split != null, "split", split, "a SplitConfig");
        require(epochs >= 1, "epochs", epochs, ">= 1");
        require(batchSize >= 1, "batchSize", batchSize, ">= 1");
        require(collectiveTimeoutMs > 0, "collectiveTimeoutMs", collectiveTimeoutMs, "> 0");
        require(slotWaitMs >= 0, "slotWaitMs", slotWaitMs, ">= 0");
        this.sc = sc;
        this.split = split;
        this.epochs = epochs;
        this.batchSize = batchSize;
        this.collectiveTimeoutMs = collectiveTimeoutMs;
        this.slotWaitMs = slotWaitMs;
    }

    public SplitConfig split()
    {
        return split;
    }

    public long slotWaitMs()
    {
        return slotWaitMs;
    }

    /** Tests only: makes one shard fail during the next fits (see {@link SplitBarrierTask.Fault}). */
    ModelSplitTrainer injectFault(final SplitBarrierTask.Fault fault)
    {
        this.fault = fault;
        return this;
    }

    /**
     * Checks on the driver that {@code split} can be applied to {@code conf} (layer indices, layer types,
     * activations, updaters), so a bad choice fails before any task starts.
     *
     * @throws TrainerConfigException naming the layer and what is wrong.
     */
    public static void check(final MultiLayerConfiguration conf, final SplitConfig split)
    {
        try
        {
            ModelSupport.check(conf, split.splitLayers());
        }
        catch (final ModelSplitException ex)
        {
            throw new TrainerConfigException("cannot split layers " + new TreeSet<>(split.splitLayers()) + " into " +
                split.shards() + " shards: " + ex.getMessage());
        }
    }

    /** Trains {@code network} in place on {@code data} (DataSets of any size, in RDD order); read twice. */
    public TrainingSummary fit(final MultiLayerNetwork network, final JavaRDD<DataSet> data)
    {
        check(network.getLayerWiseConfigurations(), split);
        BarrierTimers.releaseWhenStopped(sc.sc());
        BarrierSlots.await(sc, split.shards(), slotWaitMs, "the model-split fit");
        final CountedSnapshot start = CountedSnapshot.take(network, data);
        final ModelSnapshot initial = start.snapshot();
        final long[] partitionCounts = start.counts();
        final long total = Arrays.stream(partitionCounts).sum();
        if (total == 0)
        {
            throw new TrainingInputException("the training data is empty: nothing to train on");
        }
        // One "worker" in the plan: every step's examples go to rank 0; partitions 1..N-1 stay empty.
        final ExamplePlan plan = new ExamplePlan(total, 1, batchSize);
        LOG.info("Model-split fit: {} shards, split layers {}, {} examples per epoch, {} steps of {}, {} epochs",
            split.shards(), split.splitLayers(), total, plan.stepsPerEpoch(), batchSize, epochs);
        final JavaRDD<Tuple2<Long, DataSet>> routed = ExampleRouting.route(data, partitionCounts, plan,
            split.shards());

        final SnapshotBroadcast broadcast = SnapshotBroadcast.of(sc, initial);
        final SecureRandom random = new SecureRandom();
        final long sessionId = random.nextLong() | 1L;
        final ChannelKey channelKey = ChannelKey.forFit(sc.getConf(), sc.sc().applicationId(), "Model-split fit");
        final ChannelCounters channelCounters = ChannelCounters.register(sc.sc());
        final long startNs = System.nanoTime();
        final List<SplitBarrierTask.Result> results;
        final String jobGroup = "paratrain-model-split-" + Long.toHexString(sessionId);
        final String[] callerGroup = {sc.getLocalProperty(JOB_GROUP), sc.getLocalProperty(JOB_DESCRIPTION),
            sc.getLocalProperty(JOB_INTERRUPT)};
        try (StageFailures failures = StageFailures.watch(sc, jobGroup))
        {
            // interruptOnCancel: when the stage is aborted, Spark interrupts the other shards' tasks.
            sc.setJobGroup(jobGroup, String.format("Paratrain model-split fit: %d shards, layers %s, batch %d, " +
                "%d epochs, %d examples", split.shards(), split.splitLayers(), batchSize, epochs, total), true);
            try
            {
                results = runBarrierStage(routed, new SplitBarrierTask(broadcast, initial.configuration(), split,
                    plan, epochs, sessionId, channelKey, channelCounters, collectiveTimeoutMs, fault));
            }
            catch (final Exception ex) // a task failure arrives as the checked SparkException
            {
                throw stageFailure(ex, failures, split.shards());
            }
        }
        finally
        {
            sc.setLocalProperty(JOB_GROUP, callerGroup[0]);
            sc.setLocalProperty(JOB_DESCRIPTION, callerGroup[1]);
            sc.setLocalProperty(JOB_INTERRUPT, callerGroup[2]);
            broadcast.destroy();
        }
        if (results.size() != 1)
        {
            throw new TrainerException("expected the model from rank 0, got " + results.size() + " models");
        }
        results.get(0).model().applyTo(network);
        final double seconds = (System.nanoTime() - startNs) / 1e9;
        return new TrainingSummary(total, plan.stepsPerEpoch(), epochs, seconds, total * epochs / seconds,
            results.get(0).lastLoss(), channelCounters.report(channelKey.authenticated(), "Model-split fit"));
    }

    /**
     * A task's failure reaches the driver as Spark's SparkException (a checked exception thrown through collect)
     * that, for a barrier stage, does not say why the task failed; the task's own errors come from the listener.
     * An error of the driver's own (a RuntimeException) passes as is.
     */
    private static RuntimeException stageFailure(final Exception ex, final StageFailures failures, final int tasks)
    {
        if (!(ex instanceof org.apache.spark.SparkException))
        {
            return (RuntimeException)ex;
        }
        List<String> reasons;
        try
        {
            reasons = failures.failures(FAILURE_EVENT_WAIT_MS, tasks);
        }
        catch (final InterruptedException interrupted)
        {
            Thread.currentThread().interrupt();
            reasons = List.of();
        }
        return new ShardLostException("model-split fit failed: " + (reasons.isEmpty()
            ? ex.getMessage() + " (no task error reported within " + FAILURE_EVENT_WAIT_MS + " ms)"
            : String.join("; ", reasons)), ex);
    }

    private static List<SplitBarrierTask.Result> runBarrierStage(final JavaRDD<Tuple2<Long, DataSet>> routed,
        final SplitBarrierTask task)
    {
        // the result travels as bytes (ShippedBytes): Spark's serializer may be Kryo, which fails on records
        final ClassTag<byte[]> tag = ClassTag$.MODULE$.apply(byte[].class);
        final Function1<scala.collection.Iterator<Tuple2<Long, DataSet>>, scala.collection.Iterator<byte[]>> body =
            (Function1<scala.collection.Iterator<Tuple2<Long, DataSet>>, scala.collection.Iterator<byte[]>> &
                Serializable)partition -> JavaConverters.asScalaIterator(task.train(
                JavaConverters.asJavaIterator(partition))).map(ShippedBytes::encodeSplitResult);
        final RDD<byte[]> results = routed.rdd().barrier().mapPartitions(body, false, tag);
        return new JavaRDD<>(results, tag).collect().stream().map(ShippedBytes::decodeSplitResult).toList();
    }

    private static void require(final boolean ok, final String field, final Object value, final String expected)
    {
        if (!ok)
        {
            throw new TrainerConfigException("invalid ModelSplitTrainer " + field + "=" + value + ": expected " +
                expected);
        }
    }
}
