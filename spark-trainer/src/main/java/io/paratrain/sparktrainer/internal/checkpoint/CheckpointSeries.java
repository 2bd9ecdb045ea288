package io.paratrain.sparktrainer.internal.checkpoint;

import io.paratrain.sparktrainer.CheckpointConfig;
import io.paratrain.sparktrainer.exceptions.TrainerConfigException;
import io.paratrain.sparktrainer.internal.data.ExamplePlan;
import io.paratrain.sparktrainer.internal.snapshot.ModelKind;
import org.apache.hadoop.conf.Configuration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The driver's side of checkpoints, before a fit's stage starts. */
public final class CheckpointSeries
{
    private static final Logger LOG = LoggerFactory.getLogger(CheckpointSeries.class);

    private CheckpointSeries()
    {
    }

    /**
     * A fit that does not resume starts a new series: old checkpoints would otherwise be resumed on a retry. A fit
     * that resumes checks here that the newest checkpoint was written for {@code plan} and a {@code kind} model, so
     * that a wrong choice
     * fails once on the driver rather than in every stage attempt. {@code checkpoint} null: nothing to do.
     */
    public static void prepare(final CheckpointConfig checkpoint, final ExamplePlan plan, final ModelKind kind,
        final Configuration hadoop)
    {
        if (checkpoint == null)
        {
            return;
        }
        final CheckpointStore store = new CheckpointStore(checkpoint.directory(), checkpoint.keep(), hadoop);
        if (checkpoint.resume())
        {
            final Checkpoint newest = store.newestValid().orElse(null);
            if (newest != null && !newest.plan().equals(plan))
            {
                throw new TrainerConfigException("cannot resume: checkpoint " +
                    CheckpointStore.fileName(newest.globalStep()) + " in " + store + " was written for " +
                    newest.plan() + ", this fit has " + plan + ": resume with the same data, workers and batch " +
                    "size, or use another checkpoint folder");
            }
            if (newest != null && newest.model().configuration().kind() != kind)
            {
                throw new TrainerConfigException("cannot resume: checkpoint " +
                    CheckpointStore.fileName(newest.globalStep()) + " in " + store + " holds a " +
                    newest.model().configuration().kind() + " model, this fit trains a " + kind + " model: use " +
                    "another checkpoint folder");
            }
            LOG.info("Resuming from {}", newest == null ? "the network as given: no valid checkpoint in " + store :
                CheckpointStore.fileName(newest.globalStep()) + " in " + store + " (epoch " + newest.epoch() +
                ", step " + newest.step() + ")");
        }
        else
        {
            final int deleted = store.deleteAll();
            if (deleted > 0)
            {
                LOG.warn("Deleted {} checkpoint(s) of an earlier fit in {} (not resuming)", deleted, store);
            }
        }
    }
}
