package io.paratrain.sparktrainer.internal;

import io.paratrain.gradientsharing.Collective;
import io.paratrain.gradientsharing.Nd4jMemory;
import io.paratrain.sparktrainer.exceptions.TrainerException;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * Gives every replica its examples of the {@link ExamplePlan} over the ring itself, for data that already has one
 * partition per replica: the barrier stage then reads the data where it lies, with no Spark shuffle stage before
 * it (measured ~0.4 s of start-up for 8,000 MNIST examples, serialized to shuffle files and read back).
 * <p>
 * Rank by rank, the examples of each partition that other replicas train on are broadcast in chunks of plain
 * float rows (a chunk's features, then its labels); every rank copies out the runs the plan gives it, in global
 * order, which is step order, and the partition's own rank copies the rows it keeps in place. With 2 replicas each
 * receives exactly the half of the other partition it needs (8,000 MNIST rows: 12.7 MB moved instead of 25.4 MB);
 * with N, each receives (N-1)/N of every other partition, of which it needs 1/(N-1) (a shuffle moves only that):
 * the trainer takes this path for data up to {@link #MAX_DIRECT_BYTES} only.
 */
public final class ExampleExchange
{
    /** Above this many bytes of training data the Spark shuffle, which moves only what each replica needs, wins. */
    public static final long MAX_DIRECT_BYTES = 1L << 30;
    /**
     * Rows go out in chunks of this size through one reused buffer. A direct buffer is zero-filled when allocated,
     * and on the 2-core VM here every first-touched page costs ~4 ms per MB: an 8 MiB chunk cost ~30 ms per rank.
     */
    private static final int CHUNK_BYTES = 1 << 20;

    private ExampleExchange()
    {
    }

    /**
     * This replica's minibatch for every step (null where the plan gives it none), from the examples of its own
     * partition and everyone else's.
     *
     * @param counts        examples of every partition, as the driver counted them.
     * @param featureWidth  columns of every features matrix; {@code labelWidth} likewise for labels.
     */
    public static DataSet[] build(final Collective collective, final Iterator<DataSet> partition,
        final ExamplePlan plan, final long[] counts, final int featureWidth, final int labelWidth)
    {
        final int rank = collective.rank();
        final List<DataSet> mine = new ArrayList<>();
        long held = 0;
        while (partition.hasNext())
        {
            final DataSet batch = partition.next();
            held += batch.numExamples();
            mine.add(batch);
        }
        if (held != counts[rank])
        {
            throw new TrainerException("rank " + rank + " read " + held + " examples from its partition but the " +
                "driver counted " + counts[rank] + "; the data changed between counting and training (is the RDD " +
                "deterministic?)");
        }
        final int rowFloats = featureWidth + labelWidth;
        final int steps = plan.stepsPerEpoch();
        // Rows are copied straight into the minibatches' own ND4J memory: float[] arrays turned into INDArrays
        // afterwards cost a second copy and 13 MB of Java heap (a young collection) for 8,000 MNIST rows.
        final DataSet[] batches = new DataSet[steps];
        final FloatBuffer[] features = new FloatBuffer[steps];
        final FloatBuffer[] labels = new FloatBuffer[steps];
        for (int step = 0; step < steps; step++)
        {
            final int local = plan.localExamples(step, rank);
            if (local > 0)
            {
                final INDArray stepFeatures = Nd4j.createUninitialized(DataType.FLOAT, local, featureWidth);
                final INDArray stepLabels = Nd4j.createUninitialized(DataType.FLOAT, local, labelWidth);
                batches[step] = new DataSet(stepFeatures, stepLabels);
                features[step] = writableFloats(stepFeatures);
                labels[step] = writableFloats(stepLabels);
            }
        }
        final int chunkRows = Math.max(1, CHUNK_BYTES / (rowFloats * Float.BYTES));
        final ByteBuffer chunk = ByteBuffer.allocateDirect(chunkRows * rowFloats * Float.BYTES)
            .order(ByteOrder.nativeOrder());
        final Destination own = new Destination(plan, rank, features, labels, featureWidth, labelWidth);
        long first = 0;
        for (int root = 0; root < counts.length; root++)
        {
            final Runs runs = new Runs(plan, first, counts[root], root);
            final RowReader reader = root == rank ? new RowReader(mine, featureWidth, labelWidth) : null;
            for (long sentLeft = runs.sentRows(); sentLeft > 0; )
            {
                // a chunk holds its rows' features, then their labels, so that runs copy in bulk
                final int rows = (int)Math.min(chunkRows, sentLeft);
                chunk.clear().limit(rows * rowFloats * Float.BYTES);
                final FloatBuffer floats = chunk.duplicate().clear().order(ByteOrder.nativeOrder()).asFloatBuffer();
                final List<long[]> sent = new ArrayList<>(); // {first global index, rows, row in chunk}
                for (int at = 0; at < rows; )
                {
                    if (runs.owner() == root)
                    {
                        // rows the root keeps travel nowhere: the root copies them in place, the others skip them
                        final int count = (int)runs.runLength(Long.MAX_VALUE);
                        if (reader != null)
                        {
                            own.copyFrom(reader, runs.global(), count);
                        }
                        runs.advance(count);
                        continue;
                    }
                    final int count = (int)runs.runLength(rows - at);
                    if (reader != null)
                    {
                        reader.copy(count, floats, at * featureWidth, floats, rows * featureWidth + at * labelWidth);
                    }
                    sent.add(new long[] {runs.global(), count, at});
                    runs.advance(count);
                    at += count;
                }
                collective.broadcast(chunk, root);
                for (final long[] run : sent)
                {
                    if (plan.workerOf(run[0]) == rank)
                    {
                        own.copyFromChunk(floats, rows, run[0], (int)run[1], (int)run[2]);
                    }
                }
                sentLeft -= rows;
            }
            while (reader != null && runs.hasNext()) // the root's own rows after the last row it sent
            {
                final int count = (int)runs.runLength(Long.MAX_VALUE);
                own.copyFrom(reader, runs.global(), count);
                runs.advance(count);
            }
            first += counts[root];
        }
        for (int step = 0; step < steps; step++)
        {
            if (batches[step] != null)
            {
                finishWrite(batches[step].getFeatures(), features[step]);
                finishWrite(batches[step].getLabels(), labels[step]);
            }
        }
        return batches;
    }

    /** The host memory of a new row-major float matrix to write in place, or a heap buffer when ND4J has none. */
    private static FloatBuffer writableFloats(final INDArray matrix)
    {
        final ByteBuffer bytes = Nd4jMemory.hostBytes(matrix);
        return bytes != null ? bytes.asFloatBuffer() : FloatBuffer.allocate((int)matrix.length());
    }

    private static void finishWrite(final INDArray matrix, final FloatBuffer written)
    {
        if (written.hasArray())
        {
            matrix.assign(Nd4j.create(written.array(), matrix.shape(), DataType.FLOAT));
        }
        else
        {
            Nd4jMemory.markHostWritten(matrix);
        }
    }

    /**
     * Walks the rows of one partition run by run, a run being consecutive rows of one step that one replica trains
     * on. The rows of runs whose replica is not the partition's own ({@code root}) are the ones sent.
     */
    private static final class Runs
    {
        private final ExamplePlan plan;
        private final long end;
        private final long sentRows;
        private long global;

        Runs(final ExamplePlan plan, final long first, final long count, final int root)
        {
            this.plan = plan;
            this.global = first;
            this.end = first + count;
            long kept = 0;
            for (long index = first; index < end; index = Math.min(plan.runEnd(index), end))
            {
                kept += plan.workerOf(index) == root ? Math.min(plan.runEnd(index), end) - index : 0;
            }
            this.sentRows = count - kept;
        }

        long sentRows()
        {
            return sentRows;
        }

        boolean hasNext()
        {
            return global < end;
        }

        long global()
        {
            return global;
        }

        int owner()
        {
            return plan.workerOf(global);
        }

        /** Rows left in the current run, at most {@code max}. */
        long runLength(final long max)
        {
            return Math.min(Math.min(plan.runEnd(global), end) - global, max);
        }

        void advance(final long rows)
        {
            global += rows;
        }
    }

    /** This replica's minibatches, written row run by row run. */
    private static final class Destination
    {
        private final ExamplePlan plan;
        private final int rank;
        private final FloatBuffer[] features;
        private final FloatBuffer[] labels;
        private final int featureWidth;
        private final int labelWidth;

        Destination(final ExamplePlan plan, final int rank, final FloatBuffer[] features, final FloatBuffer[] labels,
            final int featureWidth, final int labelWidth)
        {
            this.plan = plan;
            this.rank = rank;
            this.features = features;
            this.labels = labels;
            this.featureWidth = featureWidth;
            this.labelWidth = labelWidth;
        }

        /** The next {@code count} rows of this replica's own partition, starting at example {@code global}. */
        void copyFrom(final RowReader reader, final long global, final int count)
        {
            final int step = plan.stepOf(global);
            final int local = localRow(step, global);
            reader.copy(count, features[step], local * featureWidth, labels[step], local * labelWidth);
        }

        /** {@code count} rows from row {@code at} of a received chunk of {@code rows} rows. */
        void copyFromChunk(final FloatBuffer chunk, final int rows, final long global, final int count,
            final int at)
        {
            final int step = plan.stepOf(global);
            final int local = localRow(step, global);
            features[step].put(local * featureWidth, chunk, at * featureWidth, count * featureWidth);
            labels[step].put(local * labelWidth, chunk, rows * featureWidth + at * labelWidth,
                count * labelWidth);
        }

        /** Row of example {@code global} in this replica's minibatch of {@code step}. */
        private int localRow(final int step, final long global)
        {
            long start = step * plan.globalBatchSize();
            for (int w = 0; w < rank; w++)
            {
                start += plan.localExamples(step, w);
            }
            return (int)(global - start);
        }
    }

    /** Writes a partition's examples as rows of features then labels. */
    private static final class RowReader
    {
        private final Iterator<DataSet> batches;
        private final int featureWidth;
        private final int labelWidth;
        private FloatBuffer features;
        private FloatBuffer labels;
        private int rowsInBatch;
        private int next;

        RowReader(final List<DataSet> batches, final int featureWidth, final int labelWidth)
        {
            this.batches = batches.iterator();
            this.featureWidth = featureWidth;
            this.labelWidth = labelWidth;
        }

        /** The matrix's elements in row-major order, read in place when ND4J allows (bulk copies, not per float). */
        private static FloatBuffer rowMajorFloats(final INDArray matrix)
        {
            final INDArray rowMajor = matrix.ordering() == 'c' && Nd4jMemory.isContiguous(matrix) ? matrix :
                matrix.dup('c');
            final ByteBuffer bytes = Nd4jMemory.hostBytes(rowMajor);
            return bytes != null ? bytes.asFloatBuffer() : FloatBuffer.wrap(rowMajor.dup('c').data().asFloat());
        }

        /** Copies the next {@code rows} examples' features and labels to the given positions. */
        void copy(final int rows, final FloatBuffer featuresOut, final int featureAt, final FloatBuffer labelsOut,
            final int labelAt)
        {
            int written = 0;
            while (written < rows)
            {
                if (next == rowsInBatch)
                {
                    final DataSet batch = batches.next();
                    features = rowMajorFloats(batch.getFeatures());
                    labels = rowMajorFloats(batch.getLabels());
                    rowsInBatch = batch.numExamples();
                    next = 0;
                    continue;
                }
                final int count = Math.min(rows - written, rowsInBatch - next);
                featuresOut.put(featureAt + written * featureWidth, features, next * featureWidth,
                    count * featureWidth);
                labelsOut.put(labelAt + written * labelWidth, labels, next * labelWidth, count * labelWidth);
                written += count;
                next += count;
            }
        }
    }
}
