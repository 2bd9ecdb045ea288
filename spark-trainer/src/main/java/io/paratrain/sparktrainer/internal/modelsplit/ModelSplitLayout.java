package io.paratrain.sparktrainer.internal.modelsplit;

import io.paratrain.modelsplit.SplitConfig;
import io.paratrain.sparktrainer.ModelSplitConfig;
import io.paratrain.sparktrainer.TrainerConfig;
import io.paratrain.sparktrainer.exceptions.ShardLostException;
import io.paratrain.sparktrainer.internal.data.ExamplePlan;
import io.paratrain.sparktrainer.internal.fit.FitSettings;
import io.paratrain.sparktrainer.internal.fit.Layout;
import io.paratrain.sparktrainer.internal.fit.RankStart;
import io.paratrain.sparktrainer.internal.fit.RankTraining;

/**
 * Model split: the chosen dense/output layers are cut by columns into one shard per rank. Rank 0, the coordinator,
 * holds every minibatch (the plan has one worker), the unsplit layers, the loss and shard 0, and drives the steps;
 * ranks 1..N-1 hold only their slices and follow ({@link ShardTraining}).
 */
public class ModelSplitLayout implements Layout
{
    private final ModelSplitConfig config;

    public ModelSplitLayout(final ModelSplitConfig config)
    {
        this.config = config;
    }

    /** The pipeline's settings from a model-split configuration. */
    public static FitSettings settings(final ModelSplitConfig config)
    {
        return new FitSettings(config.epochs(), config.collectiveTimeoutMs(), config.slotWaitMs(),
            config.ompThreadsPerShard(), config.checkpoint(), TrainerConfig.SPILL_DERIVED);
    }

    @Override
    public String name()
    {
        return "model-split fit";
    }

    @Override
    public int worldSize()
    {
        return config.split().shards();
    }

    /** One "worker" in the plan: every step's examples go to rank 0. */
    @Override
    public ExamplePlan plan(final long totalExamples)
    {
        return new ExamplePlan(totalExamples, 1, config.batchSize());
    }

    @Override
    public boolean everyRankDrives()
    {
        return false;
    }

    /** Only rank 0 restores the whole model; a shard receives its slices from it and never holds the rest. */
    @Override
    public boolean holdsWholeModel(final int rank)
    {
        return rank == 0;
    }

    @Override
    public RankTraining start(final RankStart start)
    {
        return new ShardTraining(start, config.split());
    }

    @Override
    public RuntimeException stageFailed(final String reasons, final Throwable sparkError)
    {
        return new ShardLostException("model-split fit failed: " + reasons, sparkError);
    }

    protected SplitConfig split()
    {
        return config.split();
    }
}
