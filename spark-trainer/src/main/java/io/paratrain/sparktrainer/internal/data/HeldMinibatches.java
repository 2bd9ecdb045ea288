package io.paratrain.sparktrainer.internal.data;

import org.nd4j.linalg.dataset.DataSet;

/** Every minibatch held in memory: small data, and the examples exchanged over the ring. */
public final class HeldMinibatches implements Minibatches
{
    private final DataSet[] steps;

    /** Element s is step s's minibatch or null; the array is not copied. */
    public HeldMinibatches(final DataSet[] steps)
    {
        this.steps = steps;
    }

    @Override
    public DataSet get(final int step)
    {
        return steps[step];
    }

    @Override
    public int steps()
    {
        return steps.length;
    }

    /** Nothing to release: the arrays go with the last reference. */
    @Override
    public void close()
    {
    }
}
