package io.paratrain.sparktrainer.internal.data;

import io.paratrain.sparktrainer.exceptions.TrainerException;
import org.nd4j.linalg.dataset.DataSet;
import scala.Tuple2;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;

/** One replica's minibatch for every step of an epoch, built once from its partition and reused every epoch. */
public final class LocalBatches
{
    private LocalBatches()
    {
    }

    /**
     * Sorts the partition's (first index, examples) chunks by index and merges each step's chunks; a chunk holds
     * consecutive examples of one step (see {@link ExampleRouting}). Element s is the replica's minibatch for
     * step s, or null where the plan gives it none.
     */
    public static DataSet[] build(final Iterator<Tuple2<Long, DataSet>> partition, final ExamplePlan plan,
        final int rank)
    {
        final List<Tuple2<Long, DataSet>> examples = new ArrayList<>();
        partition.forEachRemaining(examples::add);
        examples.sort(Comparator.comparingLong(Tuple2::_1));
        final DataSet[] steps = new DataSet[plan.stepsPerEpoch()];
        int next = 0;
        for (int step = 0; step < steps.length; step++)
        {
            final int count = plan.localExamples(step, rank);
            final List<DataSet> batch = new ArrayList<>();
            int held = 0;
            while (next < examples.size() && plan.stepOf(examples.get(next)._1()) == step)
            {
                final DataSet chunk = examples.get(next++)._2();
                batch.add(chunk);
                held += chunk.numExamples();
            }
            if (held != count)
            {
                throw new TrainerException("rank " + rank + " holds " + held + " examples for step " + step +
                    " but the plan gives it " + count + "; the data changed between planning and training " +
                    "(is the RDD deterministic?)");
            }
            steps[step] = count == 0 ? null : MinibatchMerge.merge(batch);
        }
        if (next != examples.size())
        {
            throw new TrainerException("rank " + rank + " holds " + (examples.size() - next) +
                " examples beyond the plan's " + plan.totalExamples());
        }
        return steps;
    }
}
