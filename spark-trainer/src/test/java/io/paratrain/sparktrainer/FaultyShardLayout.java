package io.paratrain.sparktrainer;

import io.paratrain.sparktrainer.exceptions.TrainerException;
import io.paratrain.sparktrainer.internal.fit.RankStart;
import io.paratrain.sparktrainer.internal.fit.RankTraining;
import io.paratrain.sparktrainer.internal.modelsplit.ModelSplitLayout;
import io.paratrain.sparktrainer.internal.modelsplit.ShardTraining;

/**
 * Tests: the model-split layout with one deliberately failing shard. After serving {@code afterSteps} steps, shard
 * {@code rank} (>= 1) throws, or, with {@code hang}, stops answering (until its task is interrupted, at most 3
 * collective timeouts).
 */
final class FaultyShardLayout extends ModelSplitLayout
{
    private final ModelSplitConfig config;
    private final int rank;
    private final int afterSteps;
    private final boolean hang;

    FaultyShardLayout(final ModelSplitConfig config, final int rank, final int afterSteps, final boolean hang)
    {
        super(config);
        this.config = config;
        this.rank = rank;
        this.afterSteps = afterSteps;
        this.hang = hang;
    }

    @Override
    public RankTraining start(final RankStart start)
    {
        if (start.rank() != rank)
        {
            return super.start(start);
        }
        return new ShardTraining(start, split())
        {
            private int served;

            @Override
            public boolean followOne()
            {
                final boolean more = super.followOne();
                if (more && ++served == afterSteps)
                {
                    fail(served);
                }
                return more;
            }
        };
    }

    private void fail(final int served)
    {
        if (!hang)
        {
            throw new TrainerException("shard " + rank + ": injected fault after " + served + " steps");
        }
        final Object never = new Object();
        synchronized (never)
        {
            try
            {
                // Spark interrupts the task when the stage is aborted; the bound keeps a test from leaving it behind.
                never.wait(3 * config.collectiveTimeoutMs());
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
                throw new TrainerException("shard " + rank + ": injected hang ended by an interrupt");
            }
        }
        throw new TrainerException("shard " + rank + ": injected hang ended after " + 3 * config.collectiveTimeoutMs() +
            " ms");
    }
}
