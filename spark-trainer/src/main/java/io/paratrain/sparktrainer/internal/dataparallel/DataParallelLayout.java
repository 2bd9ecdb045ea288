package io.paratrain.sparktrainer.internal.dataparallel;

import io.paratrain.sparktrainer.TrainerConfig;
import io.paratrain.sparktrainer.exceptions.ReplicaFailedException;
import io.paratrain.sparktrainer.exceptions.TrainingInputException;
import io.paratrain.sparktrainer.internal.data.ExamplePlan;
import io.paratrain.sparktrainer.internal.fit.FitSettings;
import io.paratrain.sparktrainer.internal.fit.Layout;
import io.paratrain.sparktrainer.internal.fit.RankStart;
import io.paratrain.sparktrainer.internal.fit.RankTraining;

/**
 * Synchronous data parallelism: every rank holds a whole replica, trains its share of each global step and sums
 * gradients with the ring all-reduce ({@link ReplicaTraining}); the result equals one process at
 * workers x batchSizePerWorker.
 */
public final class DataParallelLayout implements Layout
{
    private final TrainerConfig config;

    public DataParallelLayout(final TrainerConfig config)
    {
        this.config = config;
    }

    /** The pipeline's settings from a data-parallel configuration. */
    public static FitSettings settings(final TrainerConfig config)
    {
        return new FitSettings(config.epochs(), config.collectiveTimeoutMs(), config.slotWaitMs(),
            config.ompThreadsPerWorker(), config.checkpoint(), config.spillAboveBytes());
    }

    @Override
    public String name()
    {
        return "data-parallel fit";
    }

    @Override
    public int worldSize()
    {
        return config.workers();
    }

    @Override
    public ExamplePlan plan(final long totalExamples)
    {
        if (totalExamples < config.workers())
        {
            throw new TrainingInputException("more workers (" + config.workers() + ") than training examples (" +
                totalExamples + "): use at most " + totalExamples + " workers");
        }
        return new ExamplePlan(totalExamples, config.workers(), config.batchSizePerWorker());
    }

    @Override
    public boolean everyRankDrives()
    {
        return true;
    }

    @Override
    public boolean holdsWholeModel(final int rank)
    {
        return true;
    }

    @Override
    public RankTraining start(final RankStart start)
    {
        return new ReplicaTraining(start, config);
    }

    @Override
    public RuntimeException stageFailed(final String reasons, final Throwable sparkError)
    {
        return new ReplicaFailedException("data-parallel fit failed: " + reasons, sparkError);
    }
}
