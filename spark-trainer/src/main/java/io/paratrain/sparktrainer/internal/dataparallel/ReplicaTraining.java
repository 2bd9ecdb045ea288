package io.paratrain.sparktrainer.internal.dataparallel;

import io.paratrain.gradientsharing.Collective;
import io.paratrain.sparktrainer.TrainerConfig;
import io.paratrain.sparktrainer.internal.convolution.DirectIm2Col;
import io.paratrain.sparktrainer.internal.fit.RankStart;
import io.paratrain.sparktrainer.internal.fit.RankTraining;
import io.paratrain.sparktrainer.internal.snapshot.ModelSnapshot;
import io.paratrain.sparktrainer.internal.snapshot.NetworkConfiguration;
import io.paratrain.sparktrainer.internal.snapshot.NetworkModel;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;

/** One data-parallel replica: the whole network, trained on its share of every step ({@link ReplicaStep}). */
final class ReplicaTraining implements RankTraining
{
    private static final Logger LOG = LoggerFactory.getLogger(ReplicaTraining.class);

    private final NetworkModel network;
    private final Collective collective;
    private final NetworkConfiguration configuration;
    private final int rank;
    private final int checksumEverySteps;
    private final ReplicaStep replicaStep;

    ReplicaTraining(final RankStart start, final TrainerConfig config)
    {
        this.network = start.network();
        this.collective = start.collective();
        this.configuration = start.configuration();
        this.rank = start.rank();
        this.checksumEverySteps = config.checksumEverySteps();
        if (config.directIm2col())
        {
            final int layers = DirectIm2Col.installWherePossible(network);
            if (rank == 0 && layers > 0)
            {
                LOG.info("{} convolution layers build their im2col matrix directly (same results as DL4J's op)",
                    layers);
            }
        }
        this.replicaStep = new ReplicaStep(network, collective, config.shardedUpdate() && config.workers() > 1 ?
            shardedUpdate() : null);
    }

    /**
     * Random layers (dropout) draw from ND4J's per-thread generator, whose state a pooled executor thread carries
     * over from earlier work. Each replica seeds it at every epoch start from the model's seed, its rank and the
     * network's epoch counter, so a fit is repeatable, one fit per epoch draws what one multi-epoch fit draws (the
     * job's --plot), and a mid-epoch checkpoint's random state is all that resuming needs.
     */
    @Override
    public void beginEpoch(final int epoch)
    {
        Nd4j.getRandom().setSeed((network.seed() * 1_000_003L + rank) * 1_000_033L + network.epochCount());
    }

    @Override
    public double step(final MultiDataSet batch, final int examples)
    {
        return replicaStep.run(batch, examples);
    }

    @Override
    public void afterStep(final long stepsDone, final int epoch, final int step)
    {
        if (checksumEverySteps > 0 && stepsDone % checksumEverySteps == 0)
        {
            ParameterChecksum.verify(collective, network.params(), "after epoch " + epoch + " step " + step);
        }
    }

    @Override
    public double lastCommunicationMs()
    {
        return replicaStep.lastCommunicationMs();
    }

    @Override
    public void endEpoch()
    {
        network.incrementEpochCount();
    }

    @Override
    public NetworkModel checkpointModel()
    {
        replicaStep.syncUpdaterState(); // the sharded step leaves each replica 1/N of the updater state
        return network;
    }

    /** Every replica checks that all are identical; rank 0 returns its model with the complete updater state. */
    @Override
    public ModelSnapshot finish()
    {
        replicaStep.syncUpdaterState();
        ParameterChecksum.verify(collective, network.params(), "at the end of training");
        return rank == 0 ? ModelSnapshot.of(network, configuration) : null;
    }

    private ShardedUpdate shardedUpdate()
    {
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
                LOG.info("Sharded optimizer step: each replica updates 1/{} of the {} parameters",
                    collective.worldSize(), network.params().length());
            }
        }
        return sharded;
    }
}
