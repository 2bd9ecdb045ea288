package io.paratrain.sparktrainer.internal.checkpoint;

import io.paratrain.sparktrainer.internal.data.ExamplePlan;
import io.paratrain.sparktrainer.internal.snapshot.ModelSnapshot;
import io.paratrain.sparktrainer.internal.snapshot.NetworkConfiguration;
import io.paratrain.sparktrainer.internal.snapshot.NetworkModel;

import io.paratrain.sparktrainer.CheckpointConfig;
import io.paratrain.sparktrainer.exceptions.CheckpointException;
import org.apache.hadoop.conf.Configuration;
import org.nd4j.linalg.api.rng.Random;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.util.function.Supplier;

/**
 * One driving rank's side of checkpointing: every rank of the group takes part (they share their random states),
 * rank 0 writes. Every call is a collective operation over the group, made by all its ranks at the same step, so the
 * schedule depends only on the step numbers. The group is every replica in data-parallel training, rank 0 alone in
 * model split (the shards take part only through the gather that builds the model to write).
 */
public final class ReplicaCheckpoints
{
    private static final Logger LOG = LoggerFactory.getLogger(ReplicaCheckpoints.class);
    private static final long NONE = -1;
    private static final long REFUSED = -2;

    /** Where training continues: epoch, step within it, and steps done since the start of the fit. */
    public record Position(int epoch, int step, long globalStep)
    {
        public static final Position START = new Position(0, 0, 0);
    }

    private final CheckpointConfig config;
    private final CheckpointStore store;
    private final ExamplePlan plan;
    private final CheckpointGroup group;
    private final int rank;
    private final int worldSize;
    /**
     * The configuration as checkpoints store it (JSON), made once at the first write: it does not change during a
     * fit, and the counters that do travel beside it. Without it every write Java-serialized the configuration
     * and then turned it back into JSON.
     */
    private NetworkConfiguration checkpointConfiguration;
    private Supplier<NetworkModel> model;

    /** {@code config} null: no checkpoints, every call is a no-op. */
    public ReplicaCheckpoints(final CheckpointConfig config, final ExamplePlan plan, final CheckpointGroup group,
        final int rank, final int worldSize)
    {
        this.config = config;
        this.store = config == null ? null : new CheckpointStore(config.directory(), config.keep(), new Configuration());
        this.plan = plan;
        this.group = group;
        this.rank = rank;
        this.worldSize = worldSize;
    }

    /**
     * Loads the newest valid checkpoint into the replica when asked to ({@code --resume}) or when Spark retries the
     * stage ({@code retriedAttempt}) into {@code network}; rank 0 chooses it and the others read the same file, each
     * taking it from {@code newest} when the task read that one already (for its starting model).
     */
    public Position resume(final boolean retriedAttempt, final NetworkModel network, final NewestCheckpoint newest)
    {
        if (store == null || (!config.resume() && !retriedAttempt))
        {
            return Position.START;
        }
        Checkpoint checkpoint = null;
        long chosen = NONE;
        String refusal = null;
        if (rank == 0)
        {
            checkpoint = newest.read().orElse(null);
            if (checkpoint != null && !checkpoint.plan().equals(plan))
            {
                refusal = "checkpoint " + CheckpointStore.fileName(checkpoint.globalStep()) + " in " + store +
                    " was written for " + checkpoint.plan() + ", this fit has " + plan + ": resume with the same " +
                    "data, workers and batch size, or use another checkpoint folder";
                chosen = REFUSED;
            }
            else if (checkpoint != null && checkpoint.model().configuration().kind() != network.kind())
            {
                refusal = "checkpoint " + CheckpointStore.fileName(checkpoint.globalStep()) + " in " + store +
                    " holds a " + checkpoint.model().configuration().kind() + " model, this fit trains a " +
                    network.kind() + " model: use another checkpoint folder";
                chosen = REFUSED;
            }
            else if (checkpoint != null)
            {
                chosen = checkpoint.globalStep();
            }
        }
        final long agreed = ByteBuffer.wrap(group.allGather(ByteBuffer.allocate(8).putLong(chosen).array())[0])
            .getLong();
        final Checkpoint alreadyRead = newest.alreadyRead(agreed).orElse(null);
        newest.forget();
        if (agreed == REFUSED)
        {
            throw new CheckpointException(refusal != null ? refusal : "rank 0 refused the checkpoint in " + store);
        }
        if (agreed == NONE)
        {
            LOG.info("Rank {}: no valid checkpoint in {}; training from the start{}", rank, store,
                retriedAttempt ? " (retried stage)" : "");
            return Position.START;
        }
        if (checkpoint == null)
        {
            checkpoint = alreadyRead != null ? alreadyRead : store.read(agreed);
        }
        checkpoint.model().applyTo(network);
        if (checkpoint.randomState().length == 2 * worldSize)
        {
            Nd4j.getRandom().setStates(checkpoint.randomState()[2 * rank], checkpoint.randomState()[2 * rank + 1]);
        }
        LOG.info("Rank {} resumes from {} in {}: epoch {}, step {} ({} steps done){}", rank,
            CheckpointStore.fileName(agreed), store, checkpoint.epoch(), checkpoint.step(), checkpoint.globalStep(),
            retriedAttempt ? " after Spark retried the stage" : "");
        return new Position(checkpoint.epoch(), checkpoint.step(), checkpoint.globalStep());
    }

    /**
     * What a checkpoint holds: the whole model with its complete updater state, built when one is written (every
     * rank of the group calls it: completing a sharded updater state, or gathering a split model's slices, is a
     * collective operation). Only rank 0's result is written.
     */
    public void source(final Supplier<NetworkModel> model)
    {
        this.model = model;
    }

    /** After step {@code step} of {@code epoch}, {@code stepsDone} steps into the fit: every N steps. */
    public void afterStep(final int epoch, final int step, final long stepsDone)
    {
        if (store == null || config.everySteps() == 0 || stepsDone % config.everySteps() != 0 ||
            step + 1 == plan.stepsPerEpoch()) // the epoch's own checkpoint follows, with the epoch counted
        {
            return;
        }
        write(epoch, step + 1, stepsDone);
    }

    /** After the last step of {@code epoch} and DL4J's epoch counter moved on. */
    public void afterEpoch(final int epoch, final long stepsDone)
    {
        if (store != null)
        {
            write(epoch + 1, 0, stepsDone);
        }
    }

    private void write(final int epoch, final int step, final long stepsDone)
    {
        final long startNs = System.nanoTime();
        final NetworkModel network = model.get();
        final Random random = Nd4j.getRandom();
        final byte[][] states = group.allGather(ByteBuffer.allocate(16).putLong(random.rootState())
            .putLong(random.nodeState()).array());
        if (rank != 0)
        {
            return;
        }
        final long[] randomState = new long[2 * states.length];
        for (int r = 0; r < states.length; r++)
        {
            final ByteBuffer state = ByteBuffer.wrap(states[r]);
            randomState[2 * r] = state.getLong();
            randomState[2 * r + 1] = state.getLong();
        }
        if (checkpointConfiguration == null)
        {
            checkpointConfiguration = NetworkConfiguration.ofJson(network.kind(), network.configurationJson());
        }
        store.write(new Checkpoint(epoch, step, stepsDone, plan, ModelSnapshot.of(network, checkpointConfiguration),
            randomState));
        LOG.info("Checkpoint {} written to {} in {} ms (continues at epoch {}, step {})",
            CheckpointStore.fileName(stepsDone), store, (System.nanoTime() - startNs) / 1_000_000, epoch, step);
    }
}
