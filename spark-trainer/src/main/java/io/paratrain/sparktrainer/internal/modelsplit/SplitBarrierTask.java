package io.paratrain.sparktrainer.internal.modelsplit;

import io.paratrain.sparktrainer.internal.channel.ChannelCounters;
import io.paratrain.sparktrainer.internal.channel.ChannelKey;
import io.paratrain.sparktrainer.internal.data.ExamplePlan;
import io.paratrain.sparktrainer.internal.data.HeldMinibatches;
import io.paratrain.sparktrainer.internal.data.LocalBatches;
import io.paratrain.sparktrainer.internal.data.Minibatches;
import io.paratrain.sparktrainer.internal.snapshot.ModelSnapshot;
import io.paratrain.sparktrainer.internal.snapshot.NetworkConfiguration;
import io.paratrain.sparktrainer.internal.snapshot.SnapshotBroadcast;
import io.paratrain.sparktrainer.internal.stage.BarrierRing;
import io.paratrain.sparktrainer.internal.stage.ResourceBinding;

import io.paratrain.gradientsharing.Collective;
import io.paratrain.modelsplit.SplitConfig;
import io.paratrain.modelsplit.SplitRank;
import io.paratrain.sparktrainer.TrainerConfig;
import io.paratrain.sparktrainer.exceptions.TrainerException;
import org.apache.spark.BarrierTaskContext;
import org.nd4j.linalg.dataset.DataSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple2;

import java.io.Serializable;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;

/**
 * The body of a model-split barrier stage: one task per shard. Rank 0 holds every minibatch (the plan has one
 * worker) and the initial model, drives {@link SplitRank#fit} over the epochs and returns the gathered model;
 * ranks 1..N-1 hold no data and only their slices of the model, and serve them until rank 0 finishes. The
 * collective is closed in all cases.
 */
public final class SplitBarrierTask implements Serializable
{
    private static final Logger LOG = LoggerFactory.getLogger(SplitBarrierTask.class);

    private final SnapshotBroadcast initialModel;
    private final NetworkConfiguration configuration;
    private final int shards;
    private final int[] splitLayers;
    private final boolean paired;
    private final ExamplePlan plan;
    private final int epochs;
    private final long sessionId;
    private final ChannelKey channelKey;
    private final ChannelCounters channelCounters;
    private final long collectiveTimeoutMs;
    private final Fault fault;

    /**
     * A deliberate failure of one shard, for tests of what the driver sees: after serving {@code afterSteps} steps,
     * shard {@code rank} (>= 1) throws, or, with {@code hang}, stops answering (until its task is interrupted, at
     * most 3 collective timeouts).
     */
    public record Fault(int rank, int afterSteps, boolean hang) implements Serializable
    {
    }

    /** What rank 0 returns: the trained model and the mean loss of the last step. */
    public record Result(ModelSnapshot model, double lastLoss) implements Serializable
    {
    }

    /**
     * @param initialModel      read by rank 0 only: Spark fetches a broadcast on first use, so the shards never
     *                          receive the whole model.
     * @param configuration     what the shards build their slices from.
     * @param fault             null, or a deliberate failure of one shard (tests).
     */
    public SplitBarrierTask(final SnapshotBroadcast initialModel, final NetworkConfiguration configuration,
        final SplitConfig split, final ExamplePlan plan, final int epochs, final long sessionId,
        final ChannelKey channelKey, final ChannelCounters channelCounters, final long collectiveTimeoutMs,
        final Fault fault)
    {
        this.fault = fault;
        this.initialModel = initialModel;
        this.configuration = configuration;
        this.shards = split.shards();
        this.splitLayers = split.splitLayers().stream().mapToInt(Integer::intValue).toArray();
        this.paired = split.paired();
        this.plan = plan;
        this.epochs = epochs;
        this.sessionId = sessionId;
        this.channelKey = channelKey;
        this.channelCounters = channelCounters;
        this.collectiveTimeoutMs = collectiveTimeoutMs;
    }

    public Iterator<Result> train(final Iterator<Tuple2<Long, DataSet>> partition)
    {
        final BarrierTaskContext context = BarrierTaskContext.get();
        final int rank = context.partitionId();
        final int worldSize = context.getTaskInfos().length;
        if (worldSize != shards)
        {
            throw new TrainerException("barrier stage has " + worldSize + " tasks, expected " + shards + " shards");
        }
        ResourceBinding.bind(context.resourcesJMap(), rank);
        final Minibatches batches = rank == 0 ? LocalBatches.build(partition, plan, 0, TrainerConfig.SPILL_DERIVED) :
            requireEmpty(partition, rank);
        final SplitConfig unpaired = SplitConfig.of(shards, splitLayers);
        final SplitConfig split = paired ? unpaired.withPairing() : unpaired;
        final Result result;
        try (Minibatches spilled = batches;
            Collective collective = BarrierRing.connect(context, sessionId, channelKey, collectiveTimeoutMs))
        {
            // Rank 0 holds the initial network and sends each shard its slices; a shard allocates only those.
            final SplitRank splitRank = rank == 0 ? new SplitRank(collective, initialModel.value().restore(), split)
                : SplitRank.shard(collective, configuration.build(), split);
            LOG.info("Shard {} of {} ready (split layers {})", rank, worldSize, split.splitLayers());
            if (rank == 0)
            {
                result = coordinate(splitRank, batches);
            }
            else
            {
                serve(splitRank, rank);
                result = null;
            }
            channelCounters.record(rank, collective.stats());
        }
        LOG.info("Shard {} of {} finished", rank, worldSize);
        return result == null ? Collections.emptyIterator() : List.of(result).iterator();
    }

    private void serve(final SplitRank splitRank, final int rank)
    {
        int served = 0;
        while (splitRank.serveOne())
        {
            served++;
            if (fault != null && fault.rank() == rank && served == fault.afterSteps())
            {
                injectFault(rank, served);
            }
        }
    }

    private void injectFault(final int rank, final int served)
    {
        if (!fault.hang())
        {
            throw new TrainerException("shard " + rank + ": injected fault after " + served + " steps");
        }
        LOG.warn("Shard {}: injected fault, not answering after {} steps", rank, served);
        final Object never = new Object();
        synchronized (never)
        {
            try
            {
                // Spark interrupts the task when the stage is aborted; the bound keeps a test from leaving it behind.
                never.wait(3 * collectiveTimeoutMs);
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
                throw new TrainerException("shard " + rank + ": injected hang ended by an interrupt");
            }
        }
        throw new TrainerException("shard " + rank + ": injected hang ended after " + 3 * collectiveTimeoutMs + " ms");
    }

    /** Rank 0: every step of every epoch, the epoch counter advanced after each, then the gather. */
    private Result coordinate(final SplitRank splitRank, final Minibatches batches)
    {
        double loss = Double.NaN;
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            for (int step = 0; step < batches.steps(); step++)
            {
                loss = splitRank.fit(batches.get(step));
            }
            splitRank.incrementEpoch();
        }
        return new Result(ModelSnapshot.of(splitRank.finish()), loss);
    }

    private static Minibatches requireEmpty(final Iterator<Tuple2<Long, DataSet>> partition, final int rank)
    {
        if (partition.hasNext())
        {
            throw new TrainerException("shard " + rank + " was given training data; only rank 0 may hold it");
        }
        return new HeldMinibatches(new DataSet[0]);
    }
}
