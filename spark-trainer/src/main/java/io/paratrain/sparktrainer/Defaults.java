package io.paratrain.sparktrainer;

/**
 * Every default of a fit, in one place: the trainers' configuration builders, the command-line job and the Spark
 * ML Estimator read them from here.
 */
public final class Defaults
{
    /** Passes over the training data. */
    public static final int EPOCHS = 3;
    /** Examples per replica per step (data parallel); examples per step (model split). */
    public static final int BATCH_SIZE = 64;
    /** Data-parallel replicas, and model-split shards. */
    public static final int WORKERS = 2;
    /** Longest wait for another rank in a collective operation, and for the driver's sockets. */
    public static final long COLLECTIVE_TIMEOUT_MS = 120_000;
    /** Longest wait on the driver for a cluster to offer one task slot per rank. */
    public static final long SLOT_WAIT_MS = 60_000;
    /** Newest checkpoints kept. */
    public static final int CHECKPOINTS_KEPT = 3;
    /** Steps between two comparisons of the replicas' parameter checksums. */
    public static final int CHECKSUM_EVERY_STEPS = 50;

    private Defaults()
    {
    }
}
