package io.paratrain.sparktrainer.internal.data;

import io.paratrain.sparktrainer.exceptions.TrainerException;
import io.paratrain.sparktrainer.exceptions.TrainingInputException;
import org.apache.spark.api.java.JavaFutureAction;
import org.apache.spark.api.java.JavaRDD;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import scala.Tuple2;

import java.nio.ByteBuffer;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.ExecutionException;

/**
 * Moves the training data to the replicas that the {@link ExamplePlan} assigns it to, without splitting it into
 * single examples: every input minibatch is cut into runs of consecutive examples that belong to one replica and
 * one step, each run travels as one MultiDataSet keyed by its first example's global index. (Shuffling 8,000 single
 * MNIST examples took about a second; runs are a few dozen objects.)
 */
public final class ExampleRouting
{
    private ExampleRouting()
    {
    }

    /** The example counts of {@code partitions}, in partition order. */
    public static long[] counts(final List<PartitionShape> partitions)
    {
        return partitions.stream().mapToLong(PartitionShape::examples).toArray();
    }

    /**
     * Starts the Spark job that counts each partition's examples and describes their shapes (features and labels
     * of any rank, with or without masks: {@link PartitionShape}), so the driver can prepare the model meanwhile.
     *
     * @param batchShapes the {@link BatchShapes} of the training data's MultiDataSets, partition for partition.
     */
    public static JavaFutureAction<List<long[]>> describePartitionsAsync(final JavaRDD<long[]> batchShapes)
    {
        return batchShapes.mapPartitions(shapes ->
        {
            long examples = 0;
            long[] layout = new long[0];
            boolean uniform = true;
            long mismatchIndex = -1;
            long[] mismatchLayout = new long[0];
            for (long index = 0; shapes.hasNext(); index++)
            {
                final long[] shape = shapes.next();
                examples += BatchShapes.examples(shape);
                final long[] own = BatchShapes.layout(shape);
                if (index == 0)
                {
                    layout = own;
                }
                else if (!java.util.Arrays.equals(layout, own))
                {
                    uniform = false;
                    if (mismatchIndex < 0 && ExampleLayout.mismatch(layout, own) != null)
                    {
                        mismatchIndex = index;
                        mismatchLayout = own;
                    }
                }
            }
            // as longs, not the record: Spark's serializer may be Kryo, which fails on records (ShippedBytes)
            return List.of(new PartitionShape(examples, layout, uniform, mismatchIndex, mismatchLayout).toLongs())
                .iterator();
        }).collectAsync();
    }

    /** The result of a job started by {@link #describePartitionsAsync}; as long as the job runs, like collect(). */
    public static <T> List<T> await(final JavaFutureAction<List<T>> job)
    {
        try
        {
            return job.get();
        }
        catch (final InterruptedException ex)
        {
            job.cancel(true);
            Thread.currentThread().interrupt();
            throw new TrainerException("interrupted while counting the training examples", ex);
        }
        catch (final ExecutionException ex)
        {
            if (ex.getCause() instanceof RuntimeException runtime)
            {
                throw runtime;
            }
            // a task's bad input (say, an exported file that cannot be loaded) arrives inside Spark's job failure
            for (Throwable cause = ex.getCause(); cause != null; cause = cause.getCause())
            {
                if (cause instanceof TrainingInputException input)
                {
                    throw new TrainingInputException(input.getMessage(), ex.getCause());
                }
            }
            throw new TrainerException("counting the training examples failed", ex.getCause());
        }
    }

    /**
     * (first global index, run of examples) for every run, in no particular order, in {@code partitions >=
     * plan.workers()} partitions: partition r holds replica r's runs, the partitions beyond the plan's workers are
     * empty (a model-split stage has one task per shard but all data on rank 0). The runs are shuffled as bytes
     * ({@link MinibatchCodec}), whatever Spark's serializer, and decoded in the receiving task.
     */
    public static JavaRDD<Tuple2<Long, MultiDataSet>> route(final JavaRDD<MultiDataSet> data,
        final long[] partitionCounts, final ExamplePlan plan, final int partitions)
    {
        final long[] firstIndex = new long[partitionCounts.length];
        for (int p = 1; p < partitionCounts.length; p++)
        {
            firstIndex[p] = firstIndex[p - 1] + partitionCounts[p - 1];
        }
        // Lazily, run by run: a partition may be larger than the executor's memory.
        final JavaRDD<Tuple2<Long, byte[]>> runs = data.mapPartitionsWithIndex((partition, batches) ->
            new Runs(batches, firstIndex[partition], plan), true);
        return RunShuffle.of(runs, new WorkerPartitioner(plan, partitions), data.context().getConf())
            .map(run -> new Tuple2<>(run._1(), MinibatchCodec.decode(ByteBuffer.wrap(run._2()))));
    }

    /** (first global index, encoded run) for every run of a partition's minibatches, cut as they are read. */
    private static final class Runs implements Iterator<Tuple2<Long, byte[]>>
    {
        private final Iterator<MultiDataSet> batches;
        private final ExamplePlan plan;
        private long index;
        private MultiDataSet batch;
        private int start;

        Runs(final Iterator<MultiDataSet> batches, final long firstIndex, final ExamplePlan plan)
        {
            this.batches = batches;
            this.index = firstIndex;
            this.plan = plan;
        }

        @Override
        public boolean hasNext()
        {
            while (batch == null || start == Examples.count(batch))
            {
                if (batch != null)
                {
                    index += Examples.count(batch);
                }
                if (!batches.hasNext())
                {
                    batch = null;
                    return false;
                }
                batch = batches.next();
                start = 0;
            }
            return true;
        }

        @Override
        public Tuple2<Long, byte[]> next()
        {
            if (!hasNext())
            {
                throw new NoSuchElementException("no run left in this partition");
            }
            final int size = Examples.count(batch);
            final long global = index + start;
            final int end = (int)Math.min(size, plan.runEnd(global) - index);
            final MultiDataSet run = start == 0 && end == size ? batch : Examples.slice(batch, start, end);
            start = end;
            return new Tuple2<>(global, MinibatchCodec.encode(run));
        }
    }
}
