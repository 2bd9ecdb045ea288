package io.paratrain.sparktrainer.ml;

import io.paratrain.sparktrainer.exceptions.TrainingInputException;
import org.apache.spark.ml.attribute.Attribute;
import org.apache.spark.ml.attribute.AttributeGroup;
import org.apache.spark.ml.attribute.NominalAttribute;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

import java.util.Arrays;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.floor;
import static org.apache.spark.sql.functions.max;
import static org.apache.spark.sql.functions.min;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.when;

/** The column checks that run before training, with messages that name the column and what was found. */
final class ColumnCheck
{
    private ColumnCheck()
    {
    }

    /** {@code column} exists and holds ML vectors; of size {@code inputs} when both that and the metadata say. */
    static void features(final StructType schema, final String column, final Integer inputs)
    {
        final StructField field = field(schema, column, "the features");
        if (!SQLDataTypes.VectorType().equals(field.dataType()))
        {
            throw new TrainingInputException("column " + column + " (the features) must hold " +
                "org.apache.spark.ml.linalg.Vector values (e.g. from VectorAssembler) but is " +
                field.dataType().simpleString());
        }
        final int size = AttributeGroup.fromStructField(field).size();
        if (inputs != null && size >= 0 && size != inputs)
        {
            throw new TrainingInputException("column " + column + " holds vectors of size " + size +
                " but the network's first layer has nIn=" + inputs);
        }
    }

    /** {@code column} exists and is numeric. */
    static void label(final StructType schema, final String column)
    {
        final StructField field = field(schema, column, "the label");
        if (!(field.dataType() instanceof NumericType))
        {
            throw new TrainingInputException("column " + column + " (the label) must be numeric class indices " +
                "0..k-1 (e.g. from StringIndexer) but is " + field.dataType().simpleString());
        }
    }

    /** The vector size from the column's metadata (VectorAssembler writes it), else from the first row. */
    static int featureCount(final Dataset<?> dataset, final String column)
    {
        final int size = AttributeGroup.fromStructField(dataset.schema().apply(column)).size();
        if (size >= 0)
        {
            return size;
        }
        final Row[] first = (Row[])dataset.select(column).na().drop().limit(1).collect();
        if (first.length == 0)
        {
            throw new TrainingInputException("the training data has no rows with a value in column " + column);
        }
        return ((Vector)first[0].get(0)).size();
    }

    /**
     * Classes the labels need: max label + 1, or the number of values StringIndexer recorded if larger. Fails on
     * null, negative or fractional labels (one Spark job over the label column).
     */
    static int classCount(final Dataset<?> dataset, final String column)
    {
        final Row stats = dataset.select(col(column).cast("double").as("y")).agg(
            count("*"), count(col("y")), min(col("y")), max(col("y")),
            sum(when(col("y").notEqual(floor(col("y"))), 1).otherwise(0))).first();
        final long rows = stats.getLong(0);
        if (rows == 0)
        {
            throw new TrainingInputException("the training data is empty: nothing to train on");
        }
        if (stats.getLong(1) != rows)
        {
            throw new TrainingInputException("column " + column + " has " + (rows - stats.getLong(1)) +
                " null labels in " + rows + " rows");
        }
        if (stats.getLong(4) != 0 || stats.getDouble(2) < 0)
        {
            throw new TrainingInputException("column " + column + " must hold class indices 0, 1, 2, ... but has " +
                (stats.getLong(4) != 0 ? stats.getLong(4) + " fractional values" : "minimum " + stats.getDouble(2)));
        }
        final int fromData = (int)stats.getDouble(3) + 1;
        final Attribute attribute = Attribute.fromStructField(dataset.schema().apply(column));
        if (attribute instanceof NominalAttribute nominal && nominal.getNumValues().isDefined())
        {
            return Math.max(fromData, (Integer)nominal.getNumValues().get());
        }
        return fromData;
    }

    private static StructField field(final StructType schema, final String column, final String role)
    {
        if (!Arrays.asList(schema.fieldNames()).contains(column))
        {
            throw new TrainingInputException("no column " + column + " (" + role + ") in the DataFrame; its columns " +
                "are " + Arrays.toString(schema.fieldNames()));
        }
        return schema.apply(column);
    }
}
