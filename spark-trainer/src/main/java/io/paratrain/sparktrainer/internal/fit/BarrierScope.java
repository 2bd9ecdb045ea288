package io.paratrain.sparktrainer.internal.fit;

import io.paratrain.gradientsharing.Collective;
import io.paratrain.sparktrainer.exceptions.TrainerException;
import io.paratrain.sparktrainer.internal.channel.ChannelCounters;
import io.paratrain.sparktrainer.internal.channel.ChannelKey;
import io.paratrain.sparktrainer.internal.checkpoint.Checkpoint;
import io.paratrain.sparktrainer.internal.checkpoint.CheckpointGroup;
import io.paratrain.sparktrainer.internal.checkpoint.CheckpointStore;
import io.paratrain.sparktrainer.internal.checkpoint.NewestCheckpoint;
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
import io.paratrain.sparktrainer.internal.snapshot.NetworkConfiguration;
import io.paratrain.sparktrainer.internal.snapshot.SnapshotBroadcast;
import io.paratrain.sparktrainer.internal.stage.BackgroundWork;
import io.paratrain.sparktrainer.internal.stage.BarrierRing;
import io.paratrain.sparktrainer.internal.stage.ResourceBinding;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.util.LongAccumulator;
import io.paratrain.sparktrainer.internal.snapshot.NetworkModel;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple2;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.IntFunction;

/**
 * The body of every fit's barrier stage, one rank per task, whatever the layout: checks the world size, limits
 * threads, binds the device Spark gave, starts the ring endpoint in the background while the examples arrive,
 * restores the starting model (the driver's, handed over in local mode or broadcast, or a checkpoint's), connects the
 * ring, resumes, runs the {@link Layout}'s ranks through the epochs ({@link StepLoop}), and on rank 0 returns the
 * model (same-JVM handoff or the driver's model socket). The ring is closed in all cases; a failure to close is
 * logged and never hides the training error.
 */
public final class BarrierScope implements Serializable
{
    private static final Logger LOG = LoggerFactory.getLogger(BarrierScope.class);

    private final Layout layout;
    private final FitSettings settings;
    private final ExamplePlan plan;
    /** Null when the driver hands the models over in its own JVM ({@link SameJvmHandoff}). */
    private final SnapshotBroadcast initialModel;
    private final NetworkConfiguration configuration;
    private final long sessionId;
    private final ChannelKey channelKey;
    private final ChannelCounters channelCounters;
    private final String progressAddress;
    private final String progressToken;
    /** Null likewise. */
    private final String modelAddress;
    private final LongAccumulator epochsDone;

    BarrierScope(final Layout layout, final FitSettings settings, final ExamplePlan plan,
        final SnapshotBroadcast initialModel, final NetworkConfiguration configuration, final long sessionId,
        final ChannelKey channelKey, final ChannelCounters channelCounters, final String progressAddress,
        final String progressToken, final String modelAddress, final LongAccumulator epochsDone)
    {
        this.layout = layout;
        this.settings = settings;
        this.plan = plan;
        this.initialModel = initialModel;
        this.configuration = configuration;
        this.sessionId = sessionId;
        this.channelKey = channelKey;
        this.channelCounters = channelCounters;
        this.progressAddress = progressAddress;
        this.progressToken = progressToken;
        this.modelAddress = modelAddress;
        this.epochsDone = epochsDone;
    }

    /**
     * The task body over data routed by the Spark shuffle: (global index, run of examples) pairs. Ranks beyond the
     * plan's workers (model split's shards) hold no examples.
     */
    Iterator<ModelSender.Delivery> train(final Iterator<Tuple2<Long, MultiDataSet>> partition)
    {
        return run(rank -> rank < plan.workers() ? LocalBatches.build(partition, plan, rank,
            settings.spillAboveBytes()) : noExamples(partition, rank), null);
    }

    private static Minibatches noExamples(final Iterator<Tuple2<Long, MultiDataSet>> partition, final int rank)
    {
        if (partition.hasNext())
        {
            throw new TrainerException("rank " + rank + " was given training data; the plan gives it none");
        }
        return new HeldMinibatches(new MultiDataSet[0]);
    }

    /**
     * The task body over the data's own partition (one per rank), whose examples {@link ExampleExchange} moves to
     * their ranks over the ring once it is connected.
     *
     * @param counts examples in every partition, as the driver counted them.
     * @param layout the {@code ExampleLayout} of every MultiDataSet.
     */
    Iterator<ModelSender.Delivery> trainOwnPartition(final Iterator<MultiDataSet> partition,
        final long[] counts, final long[] layout)
    {
        final List<MultiDataSet> mine = new ArrayList<>(); // read while the endpoint binds in the background
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
        if (worldSize != layout.worldSize())
        {
            throw new TrainerException("barrier stage has " + worldSize + " tasks, the " + layout.name() +
                " expected " + layout.worldSize());
        }
        ThreadLimits.apply(settings.ompThreadsPerRank());
        ResourceBinding.bind(context.resourcesJMap(), rank);
        final int attempt = context.stageAttemptNumber();
        final ModelSnapshot trained;
        try (BarrierRing ring = BarrierRing.start(context, sessionId, channelKey, settings.collectiveTimeoutMs()))
        {
            // a spilled rank's file is deleted when the task ends, also on failure
            final Minibatches routedBatches = routed == null ? null : routed.apply(rank);
            final long dataReadyNs = System.nanoTime();
            // The model is rebuilt on a thread of its own while this one connects the ring and exchanges the
            // examples (the restore takes 120-200 ms per task; with two replicas on 2 cores the overlap is partial:
            // the exchange slows down beside it).
            final NewestCheckpoint newest = NewestCheckpoint.of(settings.checkpoint()); // read once, if at all
            final BackgroundWork<NetworkModel> restoring = layout.holdsWholeModel(rank) ?
                restoreInBackground(rank, attempt, newest) : null;
            try (Minibatches spilled = routedBatches; Collective collective = ring.connect();
                ProgressReporter progress = new ProgressReporter(rank == 0 ? progressAddress : null, progressToken,
                    attempt))
            {
                final long ringReadyNs = System.nanoTime();
                final Minibatches batches = routedBatches != null ? routedBatches : exchanged.apply(collective);
                final long examplesReadyNs = System.nanoTime();
                final NetworkModel network = restoring == null ? null :
                    restoring.await(settings.collectiveTimeoutMs());
                LOG.info("Rank {} of {} ready: data {} ms, ring {} ms more{}, model {} ms more", rank, worldSize,
                    (dataReadyNs - startNs) / 1_000_000, (ringReadyNs - dataReadyNs) / 1_000_000,
                    routedBatches != null ? "" : ", examples exchanged over the ring in " +
                    (examplesReadyNs - ringReadyNs) / 1_000_000 + " ms", (System.nanoTime() - examplesReadyNs) /
                    1_000_000);
                trained = train(new RankStart(rank, worldSize, collective, network, configuration, settings),
                    batches, progress, attempt, newest);
                channelCounters.record(rank, collective.stats());
            }
        }
        LOG.info("Rank {} of {} finished the {}", rank, worldSize, layout.name());
        if (rank != 0)
        {
            return Collections.emptyIterator();
        }
        return List.of(initialModel == null ? SameJvmHandoff.of(sessionId).deliver(trained) :
            ModelSender.send(trained, modelAddress, sessionId, settings.collectiveTimeoutMs())).iterator();
    }

    /** Resume (driving ranks), build the layout's part, run the epochs or follow rank 0, finish. */
    private ModelSnapshot train(final RankStart start, final Minibatches batches, final ProgressReporter progress,
        final int attempt, final NewestCheckpoint newest)
    {
        final int rank = start.rank();
        final boolean drives = layout.everyRankDrives() || rank == 0;
        if (!drives)
        {
            final RankTraining training = layout.start(start);
            while (training.followOne())
            {
                // each call serves one command of rank 0; the collective's waits see Spark's kill
            }
            return training.finish();
        }
        final ReplicaCheckpoints checkpoints = layout.everyRankDrives()
            ? new ReplicaCheckpoints(settings.checkpoint(), plan, CheckpointGroup.of(start.collective()), rank,
                start.worldSize())
            : new ReplicaCheckpoints(settings.checkpoint(), plan, CheckpointGroup.alone(), 0, 1);
        final ReplicaCheckpoints.Position position = start.network() == null ? ReplicaCheckpoints.Position.START :
            checkpoints.resume(attempt > 0, start.network(), newest);
        final RankTraining training = layout.start(start);
        checkpoints.source(training::checkpointModel);
        new StepLoop(plan, settings.epochs(), rank, progress, epochsDone).run(training, batches, checkpoints,
            position);
        return training.finish();
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
    private ModelSnapshot startingModel(final int attempt, final NewestCheckpoint checkpoint)
    {
        if (initialModel != null && attempt > 0 && settings.checkpoint() != null)
        {
            final Optional<Checkpoint> newest = checkpoint.read();
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
    private BackgroundWork<NetworkModel> restoreInBackground(final int rank, final int attempt,
        final NewestCheckpoint newest)
    {
        final int device = Nd4j.getAffinityManager().getDeviceForCurrentThread();
        return BackgroundWork.start("paratrain-restore-" + rank, "restoring the initial model", rank, () ->
        {
            Nd4j.getAffinityManager().unsafeSetDevice(device);
            return startingModel(attempt, newest).restoreModel();
        });
    }
}
