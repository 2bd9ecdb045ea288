package io.paratrain.sparktrainer.internal.data;

import org.nd4j.linalg.dataset.api.MultiDataSet;

/** Every minibatch held in memory: small data, and the examples exchanged over the ring. */
public final class HeldMinibatches implements Minibatches
{
    private final MultiDataSet[] steps;

    /** Element s is step s's minibatch or null; the array is not copied. */
    public HeldMinibatches(final MultiDataSet[] steps)
    {
        this.steps = steps;
    }

    @Override
    public MultiDataSet get(final int step)
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
