package io.paratrain.sparktrainer;

import io.paratrain.modelsplit.SplitConfig;
import io.paratrain.sparktrainer.exceptions.TrainerConfigException;

import java.io.Serializable;

/**
 * Validated settings of a model-split fit.
 *
 * @param split               shards (one Spark barrier task each; needs that many free task slots) and the layers
 *                            to split.
 * @param epochs              passes over the data.
 * @param batchSize           examples per step, all on rank 0.
 * @param collectiveTimeoutMs longest wait for a shard before the stage fails.
 * @param slotWaitMs          longest wait on the driver for the cluster to offer a task slot per shard (local mode
 *                            fails at once).
 * @param ompThreadsPerShard  threads each shard's ND4J and BLAS use (0 = leave ND4J's default).
 * @param checkpoint          periodic checkpoints and resume; null = none.
 */
public record ModelSplitConfig(
    SplitConfig split,
    int epochs,
    int batchSize,
    long collectiveTimeoutMs,
    long slotWaitMs,
    int ompThreadsPerShard,
    CheckpointConfig checkpoint) implements Serializable
{
    public ModelSplitConfig
    {
        require(split != null, "split", split, "a SplitConfig");
        require(epochs >= 1, "epochs", epochs, ">= 1");
        require(batchSize >= 1, "batchSize", batchSize, ">= 1");
        require(collectiveTimeoutMs > 0, "collectiveTimeoutMs", collectiveTimeoutMs, "> 0");
        require(slotWaitMs >= 0, "slotWaitMs", slotWaitMs, ">= 0");
        require(ompThreadsPerShard >= 0, "ompThreadsPerShard", ompThreadsPerShard, ">= 0 (0 = ND4J default)");
    }

    public static Builder builder(final SplitConfig split)
    {
        return new Builder(split);
    }

    private static void require(final boolean ok, final String field, final Object value, final String expected)
    {
        if (!ok)
        {
            throw new TrainerConfigException("invalid ModelSplitConfig." + field + "=" + value + ": expected " +
                expected);
        }
    }

    /** Mutable builder with the {@link Defaults}. */
    public static final class Builder
    {
        private final SplitConfig split;
        private int epochs = Defaults.EPOCHS;
        private int batchSize = Defaults.BATCH_SIZE;
        private long collectiveTimeoutMs = Defaults.COLLECTIVE_TIMEOUT_MS;
        private long slotWaitMs = Defaults.SLOT_WAIT_MS;
        private int ompThreadsPerShard;
        private CheckpointConfig checkpoint;

        private Builder(final SplitConfig split)
        {
            this.split = split;
        }

        public Builder epochs(final int epochs)
        {
            this.epochs = epochs;
            return this;
        }

        public Builder batchSize(final int batchSize)
        {
            this.batchSize = batchSize;
            return this;
        }

        public Builder collectiveTimeoutMs(final long collectiveTimeoutMs)
        {
            this.collectiveTimeoutMs = collectiveTimeoutMs;
            return this;
        }

        public Builder slotWaitMs(final long slotWaitMs)
        {
            this.slotWaitMs = slotWaitMs;
            return this;
        }

        public Builder ompThreadsPerShard(final int ompThreadsPerShard)
        {
            this.ompThreadsPerShard = ompThreadsPerShard;
            return this;
        }

        public Builder checkpoint(final CheckpointConfig checkpoint)
        {
            this.checkpoint = checkpoint;
            return this;
        }

        public ModelSplitConfig build()
        {
            return new ModelSplitConfig(split, epochs, batchSize, collectiveTimeoutMs, slotWaitMs,
                ompThreadsPerShard, checkpoint);
        }
    }
}
