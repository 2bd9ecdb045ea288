package io.paratrain.sparktrainer.internal.dataparallel;

import io.paratrain.sparktrainer.internal.channel.ChannelCounters;
import io.paratrain.sparktrainer.internal.channel.ChannelKey;
import io.paratrain.sparktrainer.internal.checkpoint.Checkpoint;
import io.paratrain.sparktrainer.internal.checkpoint.CheckpointStore;
import io.paratrain.sparktrainer.internal.checkpoint.ReplicaCheckpoints;
import io.paratrain.sparktrainer.internal.data.ExampleExchange;
import io.paratrain.sparktrainer.internal.data.ExamplePlan;
import io.paratrain.sparktrainer.internal.data.HeldMinibatches;
import io.paratrain.sparktrainer.internal.data.LocalBatches;
import io.paratrain.sparktrainer.internal.data.Minibatches;
import io.paratrain.sparktrainer.internal.driver.ModelSender;
import io.paratrain.sparktrainer.internal.driver.ProgressReporter;
import io.paratrain.sparktrainer.internal.driver.SameJvmHandoff;
import io.paratrain.sparktrainer.internal.snapshot.ModelSnapshot;
import io.paratrain.sparktrainer.internal.snapshot.SnapshotBroadcast;
import io.paratrain.sparktrainer.internal.stage.BackgroundWork;
import io.paratrain.sparktrainer.internal.stage.BarrierRing;
import io.paratrain.sparktrainer.internal.stage.ResourceBinding;

import io.paratrain.gradientsharing.Collective;
import io.paratrain.sparktrainer.StepMetrics;
import io.paratrain.sparktrainer.TrainerConfig;
import io.paratrain.sparktrainer.exceptions.TrainerException;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.TaskContext;
import org.apache.spark.util.LongAccumulator;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple2;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.function.Function;
import java.util.function.IntFunction;

/**
 * The body of the barrier stage: one replica per task. It rendezvouses through
 * {@link BarrierTaskContext#allGather}, trains every epoch with {@link ReplicaStep}, checks that the replicas
 * stay identical, and on rank 0 returns the final model. The collective is closed in all cases; a failure to
 * close is logged and never hides the training error.
 */
public final class BarrierTrainingTask implements Serializable
{
    private static final Logger LOG = LoggerFactory.getLogger(BarrierTrainingTask.class);

    /** Null when the driver hands the models over in its own JVM ({@link SameJvmHandoff}). */
    private final SnapshotBroadcast initialModel;
    /** What this task's model was restored from (set by the restore, read after it). */
    private transient volatile ModelSnapshot startingModel;
    private final TrainerConfig config;
    private final ExamplePlan plan;
    private final long sessionId;
    private final ChannelKey channelKey;
    private final ChannelCounters channelCounters;
    private final String progressAddress;
    private final String progressToken;
    /** Null likewise. */
    private final String modelAddress;
    private final LongAccumulator epochsDone;

    public BarrierTrainingTask(final SnapshotBroadcast initialModel, final TrainerConfig config,
        final ExamplePlan plan, final long sessionId, final ChannelKey channelKey,
        final ChannelCounters channelCounters, final String progressAddress, final String progressToken,
        final String modelAddress, final LongAccumulator epochsDone)
    {
        this.initialModel = initialModel;
        this.config = config;
        this.plan = plan;
        this.sessionId = sessionId;
        this.channelKey = channelKey;
        this.channelCounters = channelCounters;
        this.progressAddress = progressAddress;
        this.progressToken = progressToken;
        this.modelAddress = modelAddress;
        this.epochsDone = epochsDone;
    }

    /** The task body over data routed by {@link ExampleRouting}: (global index, run of examples) pairs. */
    public Iterator<ModelSender.Delivery> train(final Iterator<Tuple2<Long, DataSet>> partition)
    {
        return run(rank -> LocalBatches.build(partition, plan, rank, config.spillAboveBytes()), null);
    }

    /**
     * The task body over the data's own partition (one per replica), whose examples {@link ExampleExchange} moves
     * to their replicas over the ring once it is connected.
     *
     * @param counts examples in every partition, as the driver counted them.
     * @param layout the {@link ExampleLayout} of every DataSet.
     */
    public Iterator<ModelSender.Delivery> trainOwnPartition(final Iterator<DataSet> partition, final long[] counts,
        final long[] layout)
    {
        final List<DataSet> mine = new ArrayList<>(); // read while the endpoint binds in the background
        partition.forEachRemaining(mine::add);
        return run(null, collective -> new HeldMinibatches(ExampleExchange.build(collective, mine.iterator(), plan,
            counts, layout)));
    }

    /**
     * Either {@code routed} gives the minibatches before the ring is connected (the Spark shuffle brought them),
     * or {@code exchanged} builds them over the connected ring.
     */
    private Iterator<ModelSender.Delivery> run(final IntFunction<Minibatches> routed,
        final Function<Collective, Minibatches> exchanged)
    {
        final long startNs = System.nanoTime();
        final BarrierTaskContext context = BarrierTaskContext.get();
        final int rank = context.partitionId();
        final int worldSize = context.getTaskInfos().length;
        if (worldSize != config.workers())
        {
            throw new TrainerException("barrier stage has " + worldSize + " tasks, expected " + config.workers());
        }
        if (config.ompThreadsPerWorker() > 0)
        {
            // ND4J's own ops and OpenBLAS each keep a thread pool; several replicas in one executor JVM (local
            // mode, or executors with several cores) oversubscribe the cores unless both are limited: measured
            // 68 ms vs 42 ms a step for two 784-1000-500-10 replicas at batch 128 on 2 cores.
            Nd4j.getEnvironment().setMaxMasterThreads(config.ompThreadsPerWorker());
            Nd4j.getEnvironment().setMaxThreads(config.ompThreadsPerWorker());
            Nd4j.factory().blas().setMaxThreads(config.ompThreadsPerWorker());
        }
        ResourceBinding.bind(context.resourcesJMap(), rank);
        final MultiLayerNetwork network;
        try (BarrierRing ring = BarrierRing.start(context, sessionId, channelKey, config.collectiveTimeoutMs()))
        {
            final Minibatches routedBatches = routed == null ? null : routed.apply(rank);
            final long dataReadyNs = System.nanoTime();
            // The model is rebuilt on a thread of its own while this one connects the ring and exchanges the
            // examples (the restore takes 120-200 ms per task; with two replicas on 2 cores the overlap is partial:
            // the exchange slows down beside it).
            final BackgroundWork<MultiLayerNetwork> restoring = restoreInBackground(rank,
                context.stageAttemptNumber());
            try (Minibatches spilled = routedBatches; Collective collective = ring.connect();
                ProgressReporter progress = new ProgressReporter(rank == 0 ? progressAddress : null, progressToken,
                    context.stageAttemptNumber()))
            {
                final long ringReadyNs = System.nanoTime();
                final Minibatches batches = routedBatches != null ? routedBatches : exchanged.apply(collective);
                final long examplesReadyNs = System.nanoTime();
                network = restoring.await(config.collectiveTimeoutMs());
                LOG.info("Rank {} of {} ready to train: data {} ms, ring {} ms more{}, model {} ms more", rank,
                    worldSize, (dataReadyNs - startNs) / 1_000_000, (ringReadyNs - dataReadyNs) / 1_000_000,
                    routedBatches != null ? "" : ", examples exchanged over the ring in " +
                    (examplesReadyNs - ringReadyNs) / 1_000_000 + " ms", (System.nanoTime() - examplesReadyNs) /
                    1_000_000);
                trainEpochs(network, collective, batches, rank, progress);
                ParameterChecksum.verify(collective, network.params(), "at the end of training");
                channelCounters.record(rank, collective.stats());
            }
        }
        LOG.info("Rank {} of {} finished {} epochs", rank, worldSize, config.epochs());
        if (rank != 0)
        {
            return Collections.emptyIterator();
        }
        final ModelSnapshot trained = ModelSnapshot.of(network, startingModel.configuration());
        return List.of(initialModel == null ? SameJvmHandoff.of(sessionId).deliver(trained) :
            ModelSender.send(trained, modelAddress, sessionId, config.collectiveTimeoutMs())).iterator();
    }

    private ModelSnapshot initialModel()
    {
        return initialModel == null ? SameJvmHandoff.of(sessionId).initial() : initialModel.value();
    }

    /**
     * The model a task starts from: the broadcast (or, in local mode, the handoff); in a retried attempt on a
     * cluster, the newest valid checkpoint when there is one. The retry's state comes from a checkpoint anyway, and
     * reading the broadcast there can hang: an executor that never ran the first attempt fetches its pieces from a
     * random holder, possibly the paused executor whose silence failed that attempt, and Spark's fetch then waits
     * for its network timeout (120 s) while holding the broadcast's lock, failing every attempt on that executor
     * (seen in StalledPeerClusterIT: four attempts in a row, each "restoring the initial model did not finish").
     */
    private ModelSnapshot startingModel(final int attempt)
    {
        if (initialModel != null && attempt > 0 && config.checkpoint() != null)
        {
            final java.util.Optional<Checkpoint> newest = new CheckpointStore(config.checkpoint().directory(),
                config.checkpoint().keep(), new org.apache.hadoop.conf.Configuration()).newestValid();
            if (newest.isPresent())
            {
                LOG.info("Retried attempt {}: the model is restored from {}, not from the broadcast", attempt,
                    CheckpointStore.fileName(newest.get().globalStep()));
                return newest.get().model();
            }
        }
        return initialModel();
    }

    /** Restores the starting model on a daemon thread bound to this task's device. */
    private BackgroundWork<MultiLayerNetwork> restoreInBackground(final int rank, final int attempt)
    {
        final int device = Nd4j.getAffinityManager().getDeviceForCurrentThread();
        return BackgroundWork.start("paratrain-restore-" + rank, "restoring the initial model", rank, () ->
        {
            Nd4j.getAffinityManager().unsafeSetDevice(device);
            startingModel = startingModel(attempt);
            return startingModel.restore();
        });
    }

    private void trainEpochs(final MultiLayerNetwork network, final Collective collective, final Minibatches batches,
        final int rank, final ProgressReporter progress)
    {
        final TaskContext task = TaskContext.get();
        final ReplicaCheckpoints checkpoints = new ReplicaCheckpoints(config.checkpoint(), plan, network, collective,
            rank, config.workers());
        final ReplicaCheckpoints.Position start = checkpoints.resume(task.stageAttemptNumber() > 0);
        final ReplicaStep replicaStep = new ReplicaStep(network, collective, shardedUpdate(network, collective,
            rank));
        checkpoints.beforeWrite(replicaStep::syncUpdaterState);
        final int stepsPerEpoch = plan.stepsPerEpoch();
        long globalStep = start.globalStep();
        for (int epoch = start.epoch(); epoch < config.epochs(); epoch++)
        {
            final long epochStartNs = System.nanoTime();
            final int firstStep = epoch == start.epoch() ? start.step() : 0;
            if (firstStep == 0)
            {
                seedForEpoch(network, rank); // mid-epoch, the checkpoint restored the generator's state
            }
            double lossSum = 0;
            for (int step = firstStep; step < stepsPerEpoch; step++, globalStep++)
            {
                // Spark kills the other tasks of a failed barrier stage by flag: stop at the next step boundary.
                task.killTaskIfInterrupted();
                final long stepStartNs = System.nanoTime();
                final double loss = replicaStep.run(batches.get(step), plan.stepExamples(step));
                lossSum += loss;
                if (config.checksumEverySteps() > 0 && (globalStep + 1) % config.checksumEverySteps() == 0)
                {
                    ParameterChecksum.verify(collective, network.params(),
                        "after epoch " + epoch + " step " + step);
                }
                if (rank == 0)
                {
                    progress.step(new StepMetrics(epoch, step, stepsPerEpoch, globalStep, plan.stepExamples(step),
                        loss, (System.nanoTime() - stepStartNs) / 1e6, replicaStep.lastCommunicationMs()));
                }
                checkpoints.afterStep(epoch, step, globalStep + 1);
            }
            network.incrementEpochCount();
            checkpoints.afterEpoch(epoch, globalStep);
            if (rank == 0)
            {
                epochsDone.add(1);
                final double seconds = (System.nanoTime() - epochStartNs) / 1e9;
                progress.epoch(epoch, lossSum / Math.max(1, stepsPerEpoch - firstStep),
                    plan.totalExamples() * (stepsPerEpoch - firstStep) / (double)stepsPerEpoch / seconds);
            }
        }
        replicaStep.syncUpdaterState(); // rank 0 returns the model with its complete updater state
    }

    /**
     * Random layers (dropout) draw from ND4J's per-thread generator, whose state a pooled executor thread carries
     * over from earlier work. Each replica seeds it at every epoch start from the model's seed, its rank and the
     * network's epoch counter, so a fit is repeatable, one fit per epoch draws what one multi-epoch fit draws (the
     * job's --plot), and a mid-epoch checkpoint's random state is all that resuming needs.
     */
    private static void seedForEpoch(final MultiLayerNetwork network, final int rank)
    {
        final long seed = network.getLayerWiseConfigurations().getConf(0).getSeed();
        Nd4j.getRandom().setSeed((seed * 1_000_003L + rank) * 1_000_033L + network.getEpochCount());
    }

    private ShardedUpdate shardedUpdate(final MultiLayerNetwork network, final Collective collective, final int rank)
    {
        if (!config.shardedUpdate() || config.workers() == 1)
        {
            return null;
        }
        final List<String> reasons = new ArrayList<>();
        final ShardedUpdate sharded = ShardedUpdate.createIfSupported(network, collective, reasons);
        if (rank == 0)
        {
            if (sharded == null)
            {
                LOG.info("Every replica runs the whole optimizer step: the update cannot be sharded because {}",
                    String.join("; ", reasons));
            }
            else
            {
                LOG.info("Sharded optimizer step: each replica updates 1/{} of the {} parameters", config.workers(),
                    network.params().length());
            }
        }
        return sharded;
    }
}
