package io.paratrain.sparktrainer;

import io.paratrain.sparktrainer.exceptions.TrainerConfigException;

import java.io.Serializable;

/**
 * Validated settings of a data-parallel fit.
 *
 * @param workers              replicas, one Spark barrier task each; needs that many free task slots.
 * @param batchSizePerWorker   examples per replica per step; the global batch is workers x this.
 * @param epochs               passes over the data.
 * @param checksumEverySteps   compare a parameter checksum across replicas every this many steps (0 = never).
 * @param collectiveTimeoutMs  longest wait for a peer in the gradient all-reduce before the stage fails.
 * @param ompThreadsPerWorker  OpenMP threads each replica's ND4J uses (0 = leave ND4J's default).
 * @param slotWaitMs           longest wait on the driver for the cluster to offer {@code workers} task slots
 *                             before the fit fails (a barrier stage with too few slots would wait for ever).
 * @param checkpoint           periodic checkpoints and resume; null = none.
 * @param shardedUpdate        each replica runs the optimizer on its 1/N of the parameters between a
 *                             reduce-scatter of the gradients and an all-gather of the parameters (when the model's
 *                             updaters allow it, see ShardedUpdate); false = every replica runs DL4J's whole update.
 * @param spillAboveBytes      a replica whose minibatches (the arrays' bytes) exceed this writes them once to a file
 *                             in the executor's Spark local dir and reads each step back when it trains it, every
 *                             epoch, instead of holding them; {@link #SPILL_DERIVED} (the default) derives the
 *                             threshold from the executor's memory (see SpillThreshold: a quarter of the smaller
 *                             of JavaCPP's off-heap limit, which defaults to -Xmx, and its resident-memory limit
 *                             less the heap, shared by the replicas of this stage on the same host),
 *                             {@link #SPILL_ALWAYS} spills any data,
 *                             {@link #SPILL_NEVER} holds every minibatch. Examples exchanged over the ring (small
 *                             one-shape data) are always held.
 * @param directIm2col         each replica's plain 2D convolution layers build their im2col matrix in Java, in the
 *                             layout their GEMM reads, instead of through libnd4j's strided im2col op (over half of
 *                             a LeNet step's CPU): bitwise the same results (see DirectIm2Col for where it applies);
 *                             false = DL4J's own path.
 */
public record TrainerConfig(
    int workers,
    int batchSizePerWorker,
    int epochs,
    int checksumEverySteps,
    long collectiveTimeoutMs,
    int ompThreadsPerWorker,
    long slotWaitMs,
    CheckpointConfig checkpoint,
    boolean shardedUpdate,
    long spillAboveBytes,
    boolean directIm2col) implements Serializable
{
    /** {@link #spillAboveBytes}: derived from the executor's memory. */
    public static final long SPILL_DERIVED = -1;
    /** {@link #spillAboveBytes}: every replica spills its minibatches (tests, or to keep executor memory free). */
    public static final long SPILL_ALWAYS = 0;
    /** {@link #spillAboveBytes}: no replica spills, whatever the data's size. */
    public static final long SPILL_NEVER = Long.MAX_VALUE;

    public TrainerConfig
    {
        require(workers >= 1, "workers", workers, ">= 1");
        require(batchSizePerWorker >= 1, "batchSizePerWorker", batchSizePerWorker, ">= 1");
        require(epochs >= 1, "epochs", epochs, ">= 1");
        require(checksumEverySteps >= 0, "checksumEverySteps", checksumEverySteps, ">= 0 (0 = never)");
        require(collectiveTimeoutMs > 0, "collectiveTimeoutMs", collectiveTimeoutMs, "> 0");
        require(ompThreadsPerWorker >= 0, "ompThreadsPerWorker", ompThreadsPerWorker, ">= 0 (0 = ND4J default)");
        require(slotWaitMs >= 0, "slotWaitMs", slotWaitMs, ">= 0");
        require(spillAboveBytes >= SPILL_DERIVED, "spillAboveBytes", spillAboveBytes,
            ">= 0, or -1 (SPILL_DERIVED) for a threshold derived from the executor's memory");
    }

    public static Builder builder()
    {
        return new Builder();
    }

    /** Examples in one step over all replicas. */
    public int globalBatchSize()
    {
        return workers * batchSizePerWorker;
    }

    private static void require(final boolean ok, final String field, final Object value, final String expected)
    {
        if (!ok)
        {
            throw new TrainerConfigException("invalid TrainerConfig." + field + "=" + value + ": expected " + expected);
        }
    }

    /** Mutable builder with the {@link Defaults}. */
    public static final class Builder
    {
        private int workers = Defaults.WORKERS;
        private int batchSizePerWorker = Defaults.BATCH_SIZE;
        private int epochs = Defaults.EPOCHS;
        private int checksumEverySteps = Defaults.CHECKSUM_EVERY_STEPS;
        private long collectiveTimeoutMs = Defaults.COLLECTIVE_TIMEOUT_MS;
        private int ompThreadsPerWorker;
        private long slotWaitMs = Defaults.SLOT_WAIT_MS;
        private CheckpointConfig checkpoint;
        private boolean shardedUpdate = true;
        private long spillAboveBytes = SPILL_DERIVED;
        private boolean directIm2col = true;

        public Builder workers(final int workers)
        {
            this.workers = workers;
            return this;
        }

        public Builder batchSizePerWorker(final int batchSizePerWorker)
        {
            this.batchSizePerWorker = batchSizePerWorker;
            return this;
        }

        public Builder epochs(final int epochs)
        {
            this.epochs = epochs;
            return this;
        }

        public Builder checksumEverySteps(final int checksumEverySteps)
        {
            this.checksumEverySteps = checksumEverySteps;
            return this;
        }

        public Builder collectiveTimeoutMs(final long collectiveTimeoutMs)
        {
            this.collectiveTimeoutMs = collectiveTimeoutMs;
            return this;
        }

        public Builder ompThreadsPerWorker(final int ompThreadsPerWorker)
        {
            this.ompThreadsPerWorker = ompThreadsPerWorker;
            return this;
        }

        public Builder slotWaitMs(final long slotWaitMs)
        {
            this.slotWaitMs = slotWaitMs;
            return this;
        }

        public Builder checkpoint(final CheckpointConfig checkpoint)
        {
            this.checkpoint = checkpoint;
            return this;
        }

        public Builder shardedUpdate(final boolean shardedUpdate)
        {
            this.shardedUpdate = shardedUpdate;
            return this;
        }

        public Builder spillAboveBytes(final long spillAboveBytes)
        {
            this.spillAboveBytes = spillAboveBytes;
            return this;
        }

        public Builder directIm2col(final boolean directIm2col)
        {
            this.directIm2col = directIm2col;
            return this;
        }

        public TrainerConfig build()
        {
            return new TrainerConfig(workers, batchSizePerWorker, epochs, checksumEverySteps, collectiveTimeoutMs,
                ompThreadsPerWorker, slotWaitMs, checkpoint, shardedUpdate, spillAboveBytes,
                directIm2col);
        }
    }
}
