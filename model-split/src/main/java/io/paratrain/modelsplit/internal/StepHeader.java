package io.paratrain.modelsplit.internal;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The 16 bytes the coordinator broadcasts before each step so that every shard runs the same operation on the
 * same minibatch size with the same updater clock: {command, batchSize, iteration, epoch}, native-order ints.
 * Carrying iteration and epoch means a shard can never drift from the coordinator's schedule.
 */
public final class StepHeader
{
    public static final int BYTES = 16;
    public static final int STEP = 1;
    public static final int FINISH = 2;
    public static final int STOP = 3;
    /** Gather every slice to rank 0 and go on training (a checkpoint); see {@code SplitRank.snapshot}. */
    public static final int SNAPSHOT = 4;

    private final ByteBuffer buffer = ByteBuffer.allocateDirect(BYTES).order(ByteOrder.nativeOrder());

    /** The buffer to broadcast, positioned over the 16 bytes. */
    public ByteBuffer buffer()
    {
        return buffer.clear();
    }

    public void set(final int command, final int batchSize, final int iteration, final int epoch)
    {
        buffer.putInt(0, command).putInt(4, batchSize).putInt(8, iteration).putInt(12, epoch);
    }

    public int command()
    {
        return buffer.getInt(0);
    }

    public int batchSize()
    {
        return buffer.getInt(4);
    }

    public int iteration()
    {
        return buffer.getInt(8);
    }

    public int epoch()
    {
        return buffer.getInt(12);
    }
}
