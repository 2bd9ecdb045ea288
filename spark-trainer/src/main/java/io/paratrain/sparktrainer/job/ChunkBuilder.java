package io.paratrain.sparktrainer.job;

import io.paratrain.sparktrainer.exceptions.BadRecordException;
import io.paratrain.sparktrainer.exceptions.TrainingInputException;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.io.Text;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Row;

import java.io.Serializable;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * In a task: the examples of one part of the input as one {@link ExampleChunk}, every row checked
 * ({@link RecordChecks}); the first bad row of a part is kept as a {@link BadRecord} value and the rest of that part
 * is skipped, while the task goes on with its other parts (any of them may hold the data's first bad row). Text
 * lines (CSV, LibSVM) come one part at a time ({@link #lines}); Parquet rows come from Spark's scan, each with its
 * file and the first byte of its part (a Spark file split), the parts in Spark's order (by size).
 * <p>
 * Parquet columns: 0 the file (a URI, from Spark's {@code _metadata.file_path}), 1 the part's first byte, then by
 * {@link Layout}.
 */
final class ChunkBuilder implements FlatMapFunction<Iterator<Row>, ExampleChunk>, Serializable
{
    private static final long serialVersionUID = 1L;

    /** What follows the two position columns. */
    enum Layout
    {
        /** Text lines ({@link #lines}), parsed here as CSV. */
        CSV,
        /** Text lines ({@link #lines}), parsed here as LibSVM. */
        LIBSVM,
        /** 2 the row's index in its file, 3 the label, 4 a Spark ML vector of the features. */
        PARQUET_VECTOR,
        /** 2 the row's index in its file, 3 the label, 4.. one numeric column per feature. */
        PARQUET_COLUMNS
    }

    private final RecordChecks checks;
    private final Layout layout;
    /** The feature columns' names, for the Parquet messages. */
    private final List<String> featureColumns;

    ChunkBuilder(final RecordChecks checks, final Layout layout, final List<String> featureColumns)
    {
        this.checks = checks;
        this.layout = layout;
        this.featureColumns = List.copyOf(featureColumns);
    }

    @Override
    public Iterator<ExampleChunk> call(final Iterator<Row> rows)
    {
        final List<ExampleChunk> chunks = new ArrayList<>();
        ExampleChunk chunk = null;
        String rawFile = null;
        while (rows.hasNext())
        {
            final Row row = rows.next();
            final String file = row.getString(0);
            final long partStart = row.getLong(1);
            if (chunk == null || !file.equals(rawFile) || partStart != chunk.partStart())
            {
                if (chunk != null)
                {
                    chunks.add(chunk.finish());
                }
                chunk = new ExampleChunk(pathOf(file), partStart, checks.features());
                rawFile = file;
            }
            if (chunk.bad() == null)
            {
                read(row, chunk, rawFile);
            }
        }
        if (chunk != null)
        {
            chunks.add(chunk.finish());
        }
        return chunks.iterator();
    }

    /**
     * The lines of one part of a text file (CSV or LibSVM), as Hadoop's line reader gives them, as one chunk. A blank
     * line is no example, but it is a row of the part (the line numbers count it).
     */
    ExampleChunk lines(final String file, final long partStart, final Iterator<Text> lines)
    {
        final ExampleChunk chunk = new ExampleChunk(file, partStart, checks.features());
        long rowInPart = 0;
        while (lines.hasNext() && chunk.bad() == null)
        {
            final Text line = lines.next();
            if (!RecordChecks.blank(line.getBytes(), 0, line.getLength()))
            {
                final int offset = chunk.nextRowOffset();
                try
                {
                    chunk.keep(layout == Layout.CSV ?
                        checks.csvLine(line.getBytes(), line.getLength(), "", chunk.page(), offset) :
                        checks.libSvmLine(line.toString(), "", chunk.page(), offset));
                }
                catch (final BadRecordException ex)
                {
                    chunk.refuse(BadRecord.inPart(file, partStart, rowInPart, ex.problem()));
                }
            }
            rowInPart++;
        }
        return chunk.finish();
    }

    /** Checks one Parquet row and keeps it in {@code chunk}, or refuses the chunk with it. */
    private void read(final Row row, final ExampleChunk chunk, final String rawFile)
    {
        final int offset = chunk.nextRowOffset();
        try
        {
            chunk.keep(parquetRow(row, chunk.page(), offset, rawFile + " row " + (row.getLong(2) + 1)));
        }
        catch (final BadRecordException ex)
        {
            chunk.refuse(BadRecord.at(ex.where(), ex.problem()));
        }
    }

    /** A Parquet row: (file, part, row index, label, features vector | feature columns...). */
    private int parquetRow(final Row row, final float[] x, final int offset, final String where)
    {
        if (row.isNullAt(3))
        {
            throw new BadRecordException(where, "the label is null");
        }
        if (layout == Layout.PARQUET_VECTOR)
        {
            if (row.isNullAt(4))
            {
                throw new BadRecordException(where, "the features vector is null");
            }
            final Vector v = row.getAs(4);
            if (v.size() != checks.features())
            {
                throw new BadRecordException(where, "features vector has " + v.size() +
                    " elements, the model's nIn is " + checks.features());
            }
            for (int f = 0; f < checks.features(); f++)
            {
                x[offset + f] = (float)v.apply(f) * checks.scale();
            }
        }
        else
        {
            for (int f = 0; f < checks.features(); f++)
            {
                if (row.isNullAt(4 + f))
                {
                    throw new BadRecordException(where, "column '" + featureColumns.get(f) + "' is null");
                }
                x[offset + f] = ((Number)row.get(4 + f)).floatValue() * checks.scale();
            }
        }
        final int label = RecordChecks.label(String.valueOf(row.get(3)), where);
        checks.check(x, offset, label, where);
        return label;
    }

    /** A file as Hadoop's Path prints it (file:/a/b.csv), from the URI Spark's {@code _metadata} gives. */
    static String pathOf(final String uri)
    {
        try
        {
            return new Path(new URI(uri)).toString();
        }
        catch (final URISyntaxException ex)
        {
            throw new TrainingInputException("Spark named an input file by '" + uri + "', which is no URI", ex);
        }
    }
}
