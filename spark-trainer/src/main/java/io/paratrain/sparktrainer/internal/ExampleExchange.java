package io.paratrain.sparktrainer.internal;

import io.paratrain.gradientsharing.Collective;
import io.paratrain.gradientsharing.internal.Nd4jMemory;
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
 * Rank by rank, the examples of each partition are broadcast in chunks of plain float rows (a chunk's features,
 * then its labels); every rank copies out the runs the plan gives it, in global order, which is step order.
 * Each rank receives every other partition once, N-1 of N of the data (a shuffle moves only the 1/N it needs):
 * the trainer takes this path for data up to {@link #MAX_DIRECT_BYTES} only.
 */
public final class ExampleExchange
{
    /** Above this many bytes of training data the Spark shuffle, which moves only what each replica needs, wins. */
    public static final long MAX_DIRECT_BYTES = 1L << 30;
    private static final int CHUNK_BYTES = 8 << 20;

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
        long first = 0;
        for (int root = 0; root < counts.length; root++)
        {
            final RowReader reader = root == rank ? new RowReader(mine, featureWidth, labelWidth) : null;
            for (long start = 0; start < counts[root]; start += chunkRows)
            {
                // a chunk holds its rows' features, then their labels, so that runs copy in bulk
                final int rows = (int)Math.min(chunkRows, counts[root] - start);
                chunk.clear().limit(rows * rowFloats * Float.BYTES);
                if (reader != null)
                {
                    reader.fill(chunk.asFloatBuffer(), rows);
                }
                collective.broadcast(chunk, root);
                final FloatBuffer floats = chunk.duplicate().clear().order(ByteOrder.nativeOrder()).asFloatBuffer();
                final long chunkFirst = first + start;
                final long chunkEnd = chunkFirst + rows;
                long global = chunkFirst;
                while (global < chunkEnd)
                {
                    final long runEnd = Math.min(plan.runEnd(global), chunkEnd);
                    if (plan.workerOf(global) == rank)
                    {
                        final int step = plan.stepOf(global);
                        final int local = (int)(global - sliceStart(plan, step, rank));
                        final int at = (int)(global - chunkFirst);
                        final int count = (int)(runEnd - global);
                        features[step].put(local * featureWidth, floats, at * featureWidth, count * featureWidth);
                        labels[step].put(local * labelWidth, floats, rows * featureWidth + at * labelWidth,
                            count * labelWidth);
                    }
                    global = runEnd;
                }
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

    /** Global index of the first example that {@code rank} trains on in {@code step}. */
    private static long sliceStart(final ExamplePlan plan, final int step, final int rank)
    {
        long start = step * plan.globalBatchSize();
        for (int w = 0; w < rank; w++)
        {
            start += plan.localExamples(step, w);
        }
        return start;
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

        /** Writes the next {@code rows} examples: all their features, then all their labels. */
        void fill(final FloatBuffer out, final int rows)
        {
            final int labelsAt = rows * featureWidth;
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
                out.put(written * featureWidth, features, next * featureWidth, count * featureWidth);
                out.put(labelsAt + written * labelWidth, labels, next * labelWidth, count * labelWidth);
                written += count;
                next += count;
            }
        }
    }
}
