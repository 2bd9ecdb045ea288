package io.paratrain.sparktrainer.internal.fit;

import io.paratrain.sparktrainer.internal.data.ExamplePlan;

import java.io.Serializable;
import java.util.Optional;

/**
 * What one training layout (data parallel, model split, ...) supplies to the one fit pipeline ({@link BarrierFit}
 * on the driver, {@link BarrierScope} in the tasks): how many ranks, which examples a step takes, what each rank
 * holds and what one step does. Everything else (slots, snapshot, session, channel, progress, checkpoints, retries,
 * failures, the returned model) belongs to the pipeline. Shipped to the tasks in the stage's closure.
 */
public interface Layout extends Serializable
{
    /** For logs and errors, e.g. "data-parallel fit". */
    String name();

    /** Tasks of the barrier stage, one rank each. */
    int worldSize();

    /** How the epoch's examples are cut into steps and which rank receives which. */
    ExamplePlan plan(long totalExamples);

    /**
     * Whether every rank takes part in every step (data parallel: each trains its share) or only rank 0 drives
     * and the others follow its commands (model split). Checkpoints are written by the ranks that drive.
     */
    boolean everyRankDrives();

    /** Whether {@code rank} builds its part from the whole starting model (restored while the ring connects). */
    boolean holdsWholeModel(int rank);

    /**
     * Builds what this rank holds, once the ring is connected and, on ranks that hold the whole model, the model
     * is restored (and moved to a checkpoint's state when resuming).
     */
    RankTraining start(RankStart start);

    /** The error a failed stage becomes on the driver, given the tasks' own errors, root causes first. */
    RuntimeException stageFailed(String reasons, Throwable sparkError);

    /** Why this layout cannot take {@code plan}'s examples straight from the data's partitions, if it cannot. */
    default Optional<String> refusesDirectExchange()
    {
        return everyRankDrives() ? Optional.empty() : Optional.of("only rank 0 holds examples");
    }
}
