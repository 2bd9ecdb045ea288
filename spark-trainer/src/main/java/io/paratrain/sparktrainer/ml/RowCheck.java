package io.paratrain.sparktrainer.ml;

import io.paratrain.sparktrainer.exceptions.TrainingInputException;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

import java.io.Serializable;
import java.util.Iterator;
import java.util.List;

/**
 * Checks every row's features vector before training: present, of the network's input size, and finite in float32
 * (what training casts to). One Spark job whose tasks return the first bad row of their partition as a value (bad
 * data is not retried); the driver turns the partition's row into the row number in the DataFrame's order.
 */
final class RowCheck
{
    private RowCheck()
    {
    }

    static void features(final Dataset<?> dataset, final String column, final int size)
    {
        final List<PartRows> parts = dataset.select(column).toJavaRDD()
            .mapPartitions((Iterator<Row> rows) -> List.of(scan(rows, size)).iterator()).collect();
        long before = 0;
        for (final PartRows part : parts)
        {
            if (part.problem() != null)
            {
                throw new TrainingInputException("column " + column + ", row " + (before + part.badRow() + 1) +
                    " (1-based, in the DataFrame's order): " + part.problem());
            }
            before += part.rows();
        }
    }

    private static PartRows scan(final Iterator<Row> rows, final int size)
    {
        long index = 0;
        while (rows.hasNext())
        {
            final String problem = problem(rows.next(), size);
            if (problem != null)
            {
                return new PartRows(index, index, problem);
            }
            index++;
        }
        return new PartRows(index, -1, null);
    }

    private static String problem(final Row row, final int size)
    {
        if (row.isNullAt(0))
        {
            return "the features vector is null";
        }
        final Vector vector = (Vector)row.get(0);
        if (vector.size() != size)
        {
            return "the features vector has size " + vector.size() + ", expected " + size + " (the network's nIn)";
        }
        for (int i = 0; i < size; i++)
        {
            final double value = vector.apply(i);
            if (!Double.isFinite(value))
            {
                return "element " + i + " (0-based) of the features vector is " + value +
                    "; features must be finite numbers";
            }
            if (!Float.isFinite((float)value))
            {
                return "element " + i + " (0-based) of the features vector, " + value + ", is beyond float32's " +
                    "range (training is in float32)";
            }
        }
        return null;
    }

    /**
     * A partition's rows (up to its first bad one) and that row's index in it, or -1 and no problem. A class, not a
     * record: it is a task result, and Kryo's field serializer (Spark's default with Kryo) cannot create records.
     */
    static final class PartRows implements Serializable
    {
        private static final long serialVersionUID = 1L;
        private final long rows;
        private final long badRow;
        private final String problem;

        PartRows(final long rows, final long badRow, final String problem)
        {
            this.rows = rows;
            this.badRow = badRow;
            this.problem = problem;
        }

        long rows()
        {
            return rows;
        }

        long badRow()
        {
            return badRow;
        }

        String problem()
        {
            return problem;
        }
    }
}
