package io.paratrain.sparktrainer.internal.data;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Takes a replica's minibatches step by step and holds them until their bytes exceed the spill threshold; from then
 * on every minibatch, the held ones first, goes to a spill file instead ({@link SpilledMinibatches}), so the replica
 * holds at most the threshold plus one step while it builds them and one step while it trains.
 */
final class MinibatchSink
{
    private static final Logger LOG = LoggerFactory.getLogger(MinibatchSink.class);

    private final DataSet[] held;
    private final long spillAboveBytes;
    private final String owner;
    private long heldBytes;
    private int added;
    private SpilledMinibatches.Writer spill;

    MinibatchSink(final int steps, final long spillAboveBytes, final String owner)
    {
        this.held = new DataSet[steps];
        this.spillAboveBytes = spillAboveBytes;
        this.owner = owner;
    }

    /** The next step's minibatch, or null for a step without examples. */
    void add(final DataSet batch)
    {
        if (spill != null)
        {
            spill.append(batch);
            added++;
            return;
        }
        held[added++] = batch;
        heldBytes += bytes(batch);
        if (heldBytes > spillAboveBytes)
        {
            LOG.info("{}: its minibatches of {} steps exceed spillAboveBytes={} ({} bytes): spilling them", owner,
                added, spillAboveBytes, heldBytes);
            spill = new SpilledMinibatches.Writer(SpillFiles.newFile(owner), held.length, owner);
            for (int step = 0; step < added; step++)
            {
                spill.append(held[step]);
                held[step] = null;
            }
        }
    }

    Minibatches finish()
    {
        return spill == null ? new HeldMinibatches(held) : spill.finish();
    }

    /** After a failure: deletes the spill file, if any. */
    void abandon()
    {
        if (spill != null)
        {
            spill.abandon();
        }
    }

    /** The bytes of the minibatch's arrays (features, labels, masks). */
    static long bytes(final DataSet batch)
    {
        long bytes = 0;
        if (batch != null)
        {
            for (final INDArray part : ExampleLayout.parts(batch))
            {
                bytes += part == null ? 0 : part.length() * part.dataType().width();
            }
        }
        return bytes;
    }
}
