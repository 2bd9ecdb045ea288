package io.paratrain.sparktrainer.internal.checkpoint;

import io.paratrain.sparktrainer.CheckpointConfig;
import org.apache.hadoop.conf.Configuration;

import java.util.Optional;

/**
 * A task's newest valid checkpoint, read at most once: a retried attempt restores its starting model from it (on a
 * cluster, instead of the broadcast) and {@link ReplicaCheckpoints#resume} applies the same one. A checkpoint holds
 * the whole model with its updater state; before, each rank of a retried attempt read it twice. Thread-safe: the
 * model is restored on a thread of its own.
 */
public final class NewestCheckpoint
{
    private final CheckpointStore store;
    /** Null until read. */
    private Optional<Checkpoint> newest;

    private NewestCheckpoint(final CheckpointStore store)
    {
        this.store = store;
    }

    /** {@code config} null: no checkpoints, nothing to read. */
    public static NewestCheckpoint of(final CheckpointConfig config)
    {
        return new NewestCheckpoint(config == null ? null :
            new CheckpointStore(config.directory(), config.keep(), new Configuration()));
    }

    /** The newest valid checkpoint, read on the first call. */
    public synchronized Optional<Checkpoint> read()
    {
        if (newest == null)
        {
            newest = store == null ? Optional.empty() : store.newestValid();
        }
        return newest;
    }

    /** The checkpoint of {@code globalStep} when {@link #read} found that one, without reading anything. */
    synchronized Optional<Checkpoint> alreadyRead(final long globalStep)
    {
        return newest == null ? Optional.empty() : newest.filter(c -> c.globalStep() == globalStep);
    }

    /** Lets go of the checkpoint once it was applied: the task trains for long after, and it holds a whole model. */
    synchronized void forget()
    {
        newest = newest == null ? null : Optional.empty();
    }
}
