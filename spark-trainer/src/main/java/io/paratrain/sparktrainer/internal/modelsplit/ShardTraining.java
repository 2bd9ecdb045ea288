package io.paratrain.sparktrainer.internal.modelsplit;

import io.paratrain.modelsplit.SplitConfig;
import io.paratrain.modelsplit.SplitRank;
import io.paratrain.sparktrainer.internal.fit.RankStart;
import io.paratrain.sparktrainer.internal.fit.RankTraining;
import io.paratrain.sparktrainer.internal.snapshot.ModelSnapshot;
import io.paratrain.sparktrainer.internal.snapshot.NetworkConfiguration;
import io.paratrain.sparktrainer.internal.snapshot.NetworkModel;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One rank of a model-split fit over {@link SplitRank}: rank 0 sends each shard its slices of the starting model
 * and drives every step; a shard allocates only its slices and serves rank 0's commands.
 */
public class ShardTraining implements RankTraining
{
    private static final Logger LOG = LoggerFactory.getLogger(ShardTraining.class);

    private final SplitRank splitRank;
    private final NetworkConfiguration configuration;

    public ShardTraining(final RankStart start, final SplitConfig split)
    {
        this.configuration = start.configuration();
        this.splitRank = start.rank() == 0 ? new SplitRank(start.collective(), (MultiLayerNetwork)start.network()
            .network(), split) :
            SplitRank.shard(start.collective(), configuration.build(), split);
        LOG.info("Shard {} of {} ready (split layers {})", start.rank(), start.worldSize(), split.splitLayers());
    }

    @Override
    public double step(final MultiDataSet batch, final int examples)
    {
        return splitRank.fit(NetworkModel.dataSet(batch));
    }

    /** Model split moves activations between ranks in every step; its time is in the step's. */
    @Override
    public double lastCommunicationMs()
    {
        return 0;
    }

    @Override
    public void endEpoch()
    {
        splitRank.incrementEpoch();
    }

    /** A gather of every shard's slices (the shards serve it), after which training continues. */
    @Override
    public NetworkModel checkpointModel()
    {
        return NetworkModel.of(splitRank.snapshot());
    }

    @Override
    public boolean followOne()
    {
        return splitRank.serveOne();
    }

    @Override
    public ModelSnapshot finish()
    {
        return splitRank.rank() == 0 ? ModelSnapshot.of(splitRank.finish(), configuration) : null;
    }
}
