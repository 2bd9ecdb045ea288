package io.paratrain.sparktrainer.internal.data;

import io.paratrain.sparktrainer.exceptions.TrainerException;
import org.nd4j.linalg.dataset.DataSet;
import scala.Tuple2;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * One replica's minibatch for every step of an epoch, built once from its partition and reused every epoch: held,
 * or spilled to a local file when they exceed the spill threshold ({@link MinibatchSink}).
 */
public final class LocalBatches
{
    private LocalBatches()
    {
    }

    /**
     * Merges each step's (first index, examples) chunks, which {@link ExampleRouting} delivers sorted by index; a
     * chunk holds consecutive examples of one step. The partition is read once, one step at a time, so that only
     * the held minibatches and one step are in memory. Step s of the result is the replica's minibatch for step s,
     * or null where the plan gives it none. On failure, a spill file already written is deleted.
     *
     * @param spillAboveBytes {@link io.paratrain.sparktrainer.TrainerConfig#spillAboveBytes}, resolved here.
     */
    public static Minibatches build(final Iterator<Tuple2<Long, DataSet>> partition, final ExamplePlan plan,
        final int rank, final long spillAboveBytes)
    {
        final MinibatchSink sink = new MinibatchSink(plan.stepsPerEpoch(), SpillThreshold.resolve(spillAboveBytes),
            "rank " + rank);
        try
        {
            buildInto(sink, partition, plan, rank);
            return sink.finish();
        }
        catch (final RuntimeException | Error ex)
        {
            sink.abandon();
            throw ex;
        }
    }

    private static void buildInto(final MinibatchSink sink, final Iterator<Tuple2<Long, DataSet>> partition,
        final ExamplePlan plan, final int rank)
    {
        Tuple2<Long, DataSet> next = partition.hasNext() ? partition.next() : null;
        long expectedIndex = -1;
        for (int step = 0; step < plan.stepsPerEpoch(); step++)
        {
            final int count = plan.localExamples(step, rank);
            final List<DataSet> batch = new ArrayList<>();
            int held = 0;
            while (next != null && plan.stepOf(next._1()) == step)
            {
                if (next._1() < expectedIndex)
                {
                    throw new TrainerException("rank " + rank + " received the examples from index " + next._1() +
                        " after those up to " + (expectedIndex - 1) + ": the routed runs are not in index order");
                }
                batch.add(next._2());
                held += next._2().numExamples();
                expectedIndex = next._1() + next._2().numExamples();
                next = partition.hasNext() ? partition.next() : null;
            }
            if (held != count)
            {
                throw new TrainerException("rank " + rank + " holds " + held + " examples for step " + step +
                    " but the plan gives it " + count + "; the data changed between planning and training " +
                    "(is the RDD deterministic?)");
            }
            sink.add(count == 0 ? null : MinibatchMerge.merge(batch));
        }
        if (next != null)
        {
            long beyond = next._2().numExamples();
            while (partition.hasNext())
            {
                beyond += partition.next()._2().numExamples();
            }
            throw new TrainerException("rank " + rank + " holds " + beyond + " examples beyond the plan's " +
                plan.totalExamples());
        }
    }
}
