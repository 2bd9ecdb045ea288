package io.paratrain.sparktrainer.ml;

import io.paratrain.sparktrainer.exceptions.TrainingInputException;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * Rows of (features vector, label index) as DL4J DataSets in row order, {@value #ROWS_PER_BATCH} rows per DataSet
 * (fewer, larger objects to route; the trainer cuts its steps by example, not by these batches). Features are
 * cast to float32, labels one-hot over {@code classes}.
 */
final class RowBatches
{
    static final int ROWS_PER_BATCH = 256;

    private RowBatches()
    {
    }

    static JavaRDD<DataSet> of(final Dataset<Row> featuresAndLabel, final int features, final int classes)
    {
        return featuresAndLabel.toJavaRDD().mapPartitions(rows -> batches(rows, features, classes));
    }

    private static Iterator<DataSet> batches(final Iterator<Row> rows, final int features, final int classes)
    {
        final List<DataSet> out = new ArrayList<>();
        while (rows.hasNext())
        {
            final List<Row> chunk = new ArrayList<>(ROWS_PER_BATCH);
            while (rows.hasNext() && chunk.size() < ROWS_PER_BATCH)
            {
                chunk.add(rows.next());
            }
            final float[] x = new float[chunk.size() * features];
            final float[] y = new float[chunk.size() * classes];
            for (int r = 0; r < chunk.size(); r++)
            {
                final Row row = chunk.get(r);
                if (row.isNullAt(0))
                {
                    throw new TrainingInputException("a row has no features (null vector)");
                }
                final Vector vector = (Vector)row.get(0);
                if (vector.size() != features)
                {
                    throw new TrainingInputException("a row's features vector has size " + vector.size() +
                        ", expected " + features + " like the others");
                }
                final double[] values = vector.toArray();
                for (int f = 0; f < features; f++)
                {
                    x[r * features + f] = (float)values[f];
                }
                y[r * classes + (int)((Number)row.get(1)).doubleValue()] = 1f;
            }
            out.add(new DataSet(Nd4j.create(x, chunk.size(), features), Nd4j.create(y, chunk.size(), classes)));
        }
        return out.iterator();
    }
}
