package io.paratrain.sparktrainer.internal.data;

import org.nd4j.linalg.dataset.api.MultiDataSet;

/**
 * One replica's minibatch for every step of an epoch, built once from its partition and read every epoch: held in
 * memory ({@link HeldMinibatches}) or, when they would take too much of the executor's memory, written once to a
 * local file ({@link SpilledMinibatches}). {@link #close} releases them (deletes the file); the task closes them
 * when it ends, also on failure.
 */
public interface Minibatches extends AutoCloseable
{
    /** The replica's minibatch for step {@code step}, or null where the plan gives it none. */
    MultiDataSet get(int step);

    /** Steps per epoch. */
    int steps();

    @Override
    void close();
}
