package io.paratrain.sparktrainer.internal.data;

import io.paratrain.gradientsharing.Collective;
import io.paratrain.gradientsharing.Nd4jMemory;
import io.paratrain.sparktrainer.exceptions.TrainerException;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.function.IntFunction;
import java.util.function.IntUnaryOperator;

/**
 * Gives every replica its examples of the {@link ExamplePlan} over the ring itself, for data that already has one
 * partition per replica: the barrier stage then reads the data where it lies, with no Spark shuffle stage before
 * it (measured ~0.4 s of start-up for 8,000 MNIST examples, serialized to shuffle files and read back).
 * <p>
 * Rank by rank, the examples of each partition that other replicas train on are broadcast in chunks of float rows,
 * a row being one example's features (of any rank, flattened in row-major order), and likewise its labels and
 * masks (a chunk's features, then its labels, then the masks, input by input and output by output); every rank
 * copies out the runs the plan gives it, in global order, which is step order, and the partition's own rank copies
 * the rows it keeps in place. This needs
 * every MultiDataSet to have the same {@link ExampleLayout} of FLOAT arrays: time series of different lengths take the
 * Spark shuffle, whose receiving side pads them ({@link MinibatchMerge}). With 2 replicas each
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
     * @param counts  examples of every partition, as the driver counted them.
     * @param layout  the {@link ExampleLayout} of every MultiDataSet, FLOAT arrays.
     */
    public static MultiDataSet[] build(final Collective collective, final Iterator<MultiDataSet> partition,
        final ExamplePlan plan, final long[] counts, final long[] layout)
    {
        final int rank = collective.rank();
        final List<MultiDataSet> mine = new ArrayList<>();
        long held = 0;
        while (partition.hasNext())
        {
            final MultiDataSet batch = partition.next();
            held += Examples.count(batch);
            mine.add(batch);
        }
        if (held != counts[rank])
        {
            throw new TrainerException("rank " + rank + " read " + held + " examples from its partition but the " +
                "driver counted " + counts[rank] + "; the data changed between counting and training (is the RDD " +
                "deterministic?)");
        }
        final RowWidths widths = new RowWidths(layout);
        final int rowFloats = widths.rowFloats();
        final long[][] exampleShapes = ExampleLayout.exampleShapes(layout);
        final int steps = plan.stepsPerEpoch();
        // Rows are copied straight into the minibatches' own ND4J memory: float[] arrays turned into INDArrays
        // afterwards cost a second copy and 13 MB of Java heap (a young collection) for 8,000 MNIST rows.
        final int partCount = widths.parts();
        final MultiDataSet[] batches = new MultiDataSet[steps];
        final FloatBuffer[][] outputs = new FloatBuffer[steps][]; // [step][part], null for an absent mask
        for (int step = 0; step < steps; step++)
        {
            final int local = plan.localExamples(step, rank);
            if (local > 0)
            {
                final INDArray[] parts = new INDArray[partCount];
                outputs[step] = new FloatBuffer[partCount];
                for (int part = 0; part < partCount; part++)
                {
                    if (exampleShapes[part] != null)
                    {
                        final long[] shape = new long[exampleShapes[part].length + 1];
                        shape[0] = local;
                        System.arraycopy(exampleShapes[part], 0, shape, 1, exampleShapes[part].length);
                        parts[part] = Nd4j.createUninitialized(DataType.FLOAT, shape);
                        outputs[step][part] = writableFloats(parts[part]);
                    }
                }
                batches[step] = ExampleLayout.assemble(parts, ExampleLayout.inputs(layout),
                    ExampleLayout.outputs(layout));
            }
        }
        final int chunkRows = Math.max(1, CHUNK_BYTES / (rowFloats * Float.BYTES));
        final ByteBuffer chunk = ByteBuffer.allocateDirect(chunkRows * rowFloats * Float.BYTES)
            .order(ByteOrder.nativeOrder());
        final Destination own = new Destination(plan, rank, outputs, widths);
        long first = 0;
        for (int root = 0; root < counts.length; root++)
        {
            final Runs runs = new Runs(plan, first, counts[root], root);
            final RowReader reader = root == rank ? new RowReader(mine, widths) : null;
            for (long sentLeft = runs.sentRows(); sentLeft > 0; )
            {
                // a chunk holds its rows' features, then their labels, then the masks, so that runs copy in bulk
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
                        final int row = at;
                        reader.copy(count, part -> floats, part -> widths.inChunk(part, rows, row));
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
                final INDArray[] parts = ExampleLayout.parts(batches[step]);
                for (int part = 0; part < partCount; part++)
                {
                    if (parts[part] != null)
                    {
                        finishWrite(parts[part], outputs[step][part]);
                    }
                }
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
        private final FloatBuffer[][] outputs;
        private final RowWidths widths;

        Destination(final ExamplePlan plan, final int rank, final FloatBuffer[][] outputs, final RowWidths widths)
        {
            this.plan = plan;
            this.rank = rank;
            this.outputs = outputs;
            this.widths = widths;
        }

        /** The next {@code count} rows of this replica's own partition, starting at example {@code global}. */
        void copyFrom(final RowReader reader, final long global, final int count)
        {
            final int step = plan.stepOf(global);
            final int local = localRow(step, global);
            reader.copy(count, part -> outputs[step][part], part -> local * widths.of(part));
        }

        /** {@code count} rows from row {@code at} of a received chunk of {@code rows} rows. */
        void copyFromChunk(final FloatBuffer chunk, final int rows, final long global, final int count,
            final int at)
        {
            final int step = plan.stepOf(global);
            final int local = localRow(step, global);
            for (int part = 0; part < widths.parts(); part++)
            {
                final int width = widths.of(part);
                if (width > 0)
                {
                    outputs[step][part].put(local * width, chunk, widths.inChunk(part, rows, at), count * width);
                }
            }
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

    /** Writes a partition's examples as rows of each part. */
    private static final class RowReader
    {
        private final Iterator<MultiDataSet> batches;
        private final RowWidths widths;
        private final FloatBuffer[] parts;
        private int rowsInBatch;
        private int next;

        RowReader(final List<MultiDataSet> batches, final RowWidths widths)
        {
            this.batches = batches.iterator();
            this.widths = widths;
            this.parts = new FloatBuffer[widths.parts()];
        }

        /** The array's elements in row-major order, read in place when ND4J allows (bulk copies, not per float). */
        private static FloatBuffer rowMajorFloats(final INDArray array)
        {
            final INDArray rowMajor = array.ordering() == 'c' && Nd4jMemory.isContiguous(array) ? array :
                array.dup('c');
            final ByteBuffer bytes = Nd4jMemory.hostBytes(rowMajor);
            return bytes != null ? bytes.asFloatBuffer() : FloatBuffer.wrap(rowMajor.dup('c').data().asFloat());
        }

        /**
         * Copies the next {@code rows} examples' parts to {@code out.apply(part)} from position
         * {@code at.applyAsInt(part)} on.
         */
        void copy(final int rows, final IntFunction<FloatBuffer> out, final IntUnaryOperator at)
        {
            int written = 0;
            while (written < rows)
            {
                if (next == rowsInBatch)
                {
                    final MultiDataSet batch = batches.next();
                    final INDArray[] arrays = ExampleLayout.parts(batch);
                    for (int part = 0; part < parts.length; part++)
                    {
                        parts[part] = arrays[part] == null ? null : rowMajorFloats(arrays[part]);
                    }
                    rowsInBatch = Examples.count(batch);
                    next = 0;
                    continue;
                }
                final int count = Math.min(rows - written, rowsInBatch - next);
                for (int part = 0; part < parts.length; part++)
                {
                    final int width = widths.of(part);
                    if (width > 0)
                    {
                        out.apply(part).put(at.applyAsInt(part) + written * width, parts[part], next * width,
                            count * width);
                    }
                }
                written += count;
                next += count;
            }
        }
    }
}
