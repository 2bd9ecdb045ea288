package io.paratrain.sparktrainer.internal;

import io.paratrain.gradientsharing.Collective;
import io.paratrain.modelsplit.SplitConfig;
import io.paratrain.modelsplit.SplitRank;
import io.paratrain.sparktrainer.exceptions.TrainerException;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.broadcast.Broadcast;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
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
 * worker), drives {@link SplitRank#fit} over the epochs and returns the gathered model; ranks 1..N-1 hold no data
 * and serve their column shards until rank 0 finishes. The collective is closed in all cases.
 */
public final class SplitBarrierTask implements Serializable
{
    private static final Logger LOG = LoggerFactory.getLogger(SplitBarrierTask.class);

    private final Broadcast<ModelSnapshot> initialModel;
    private final int shards;
    private final int[] splitLayers;
    private final ExamplePlan plan;
    private final int epochs;
    private final long sessionId;
    private final byte[] secret;
    private final long collectiveTimeoutMs;

    /** What rank 0 returns: the trained model and the mean loss of the last step. */
    public record Result(ModelSnapshot model, double lastLoss) implements Serializable
    {
    }

    public SplitBarrierTask(final Broadcast<ModelSnapshot> initialModel, final SplitConfig split,
        final ExamplePlan plan, final int epochs, final long sessionId, final byte[] secret,
        final long collectiveTimeoutMs)
    {
        this.initialModel = initialModel;
        this.shards = split.shards();
        this.splitLayers = split.splitLayers().stream().mapToInt(Integer::intValue).toArray();
        this.plan = plan;
        this.epochs = epochs;
        this.sessionId = sessionId;
        this.secret = secret;
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
        final DataSet[] batches = rank == 0 ? LocalBatches.build(partition, plan, 0) : requireEmpty(partition, rank);
        final MultiLayerNetwork network = initialModel.value().restore();
        final SplitConfig split = SplitConfig.of(shards, splitLayers);
        final Result result;
        try (Collective collective = BarrierRing.connect(context, sessionId, secret, collectiveTimeoutMs))
        {
            final SplitRank splitRank = new SplitRank(collective, network, split);
            LOG.info("Shard {} of {} ready (split layers {})", rank, worldSize, split.splitLayers());
            if (rank == 0)
            {
                result = coordinate(splitRank, batches);
            }
            else
            {
                splitRank.serve();
                result = null;
            }
        }
        LOG.info("Shard {} of {} finished", rank, worldSize);
        return result == null ? Collections.emptyIterator() : List.of(result).iterator();
    }

    /** Rank 0: every step of every epoch, the epoch counter advanced after each, then the gather. */
    private Result coordinate(final SplitRank splitRank, final DataSet[] batches)
    {
        double loss = Double.NaN;
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            for (final DataSet batch : batches)
            {
                loss = splitRank.fit(batch);
            }
            splitRank.incrementEpoch();
        }
        return new Result(ModelSnapshot.of(splitRank.finish()), loss);
    }

    private static DataSet[] requireEmpty(final Iterator<Tuple2<Long, DataSet>> partition, final int rank)
    {
        if (partition.hasNext())
        {
            throw new TrainerException("shard " + rank + " was given training data; only rank 0 may hold it");
        }
        return new DataSet[0];
    }
}
