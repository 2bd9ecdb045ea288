package io.paratrain.sparktrainer.internal.data;

import io.paratrain.sparktrainer.exceptions.TrainerException;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import scala.Tuple2;

import java.util.Iterator;

/**
 * One replica's minibatch for every step of an epoch, built once from its partition and reused every epoch: held,
 * or spilled to a local file when they exceed the spill threshold ({@link RunSink}).
 */
public final class LocalBatches
{
    private LocalBatches()
    {
    }

    /**
     * Merges each step's (first index, examples) chunks from {@link ExampleRouting}, which arrive in any order; a
     * chunk holds consecutive examples of one step. Step s of the result is the replica's minibatch for step s, or
     * null where the plan gives it none. On failure, a spill file already written is deleted.
     *
     * @param spillAboveBytes {@link io.paratrain.sparktrainer.TrainerConfig#spillAboveBytes}, resolved here.
     */
    public static Minibatches build(final Iterator<Tuple2<Long, MultiDataSet>> partition, final ExamplePlan plan,
        final int rank, final long spillAboveBytes)
    {
        final RunSink sink = new RunSink(plan, rank, SpillThreshold.resolve(spillAboveBytes));
        try
        {
            partition.forEachRemaining(run -> sink.add(run._1(), run._2()));
            return sink.finish();
        }
        catch (final RuntimeException | Error ex)
        {
            sink.abandon();
            throw ex;
        }
    }

    /**
     * Where each step's runs start among runs sorted by first index: step s has runs {@code [start[s],
     * start[s + 1])}. Checks that each step has the examples the plan gives this replica, no more, no less.
     */
    static int[] stepStarts(final long[] sortedIndex, final int[] examples, final ExamplePlan plan, final int rank)
    {
        final int steps = plan.stepsPerEpoch();
        final int[] start = new int[steps + 1];
        int next = 0;
        for (int step = 0; step < steps; step++)
        {
            start[step] = next;
            final int count = plan.localExamples(step, rank);
            int held = 0;
            while (next < sortedIndex.length && plan.stepOf(sortedIndex[next]) == step)
            {
                held += examples[next++];
            }
            if (held != count)
            {
                throw new TrainerException("rank " + rank + " holds " + held + " examples for step " + step +
                    " but the plan gives it " + count + "; the data changed between planning and training " +
                    "(is the RDD deterministic?)");
            }
        }
        start[steps] = next;
        if (next != sortedIndex.length)
        {
            long beyond = 0;
            for (int run = next; run < examples.length; run++)
            {
                beyond += examples[run];
            }
            throw new TrainerException("rank " + rank + " holds " + beyond + " examples beyond the plan's " +
                plan.totalExamples());
        }
        return start;
    }
}
