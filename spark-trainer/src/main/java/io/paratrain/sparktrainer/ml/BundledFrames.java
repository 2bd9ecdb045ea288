package io.paratrain.sparktrainer.ml;

import io.paratrain.sparktrainer.job.BundledData;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.util.List;

/**
 * The bundled MNIST subset as a DataFrame of {@code label} (double, the digit) and {@code features} (784 pixels
 * scaled to 0..1), in file order: the quick way into the Estimator from a notebook or a test.
 */
public final class BundledFrames
{
    public static final StructType SCHEMA = new StructType()
        .add("label", DataTypes.DoubleType, false)
        .add("features", SQLDataTypes.VectorType(), false);
    private static final double PIXEL_SCALE = 1.0 / 255;

    private BundledFrames()
    {
    }

    /** The 8,000 training digits. */
    public static Dataset<Row> mnistTrain(final SparkSession spark)
    {
        return frame(spark, BundledData.TRAIN);
    }

    /** The 2,000 test digits. */
    public static Dataset<Row> mnistTest(final SparkSession spark)
    {
        return frame(spark, BundledData.TEST);
    }

    private static Dataset<Row> frame(final SparkSession spark, final String resource)
    {
        final List<String> lines = BundledData.lines(resource);
        // The lines travel inside the tasks: keep each under Spark's 1 MiB task-size warning.
        final long chars = lines.stream().mapToLong(String::length).sum();
        final int slices = (int)(chars / (512 * 1024) + 1);
        final JavaRDD<Row> rows = JavaSparkContext.fromSparkContext(spark.sparkContext())
            .parallelize(lines, slices)
            .map(BundledFrames::row);
        return spark.createDataFrame(rows, SCHEMA);
    }

    private static Row row(final String line)
    {
        final String[] fields = line.split(",");
        final double[] pixels = new double[fields.length - 1];
        for (int i = 0; i < pixels.length; i++)
        {
            pixels[i] = Integer.parseInt(fields[i + 1]) * PIXEL_SCALE;
        }
        return RowFactory.create(Double.parseDouble(fields[0]), Vectors.dense(pixels));
    }
}
