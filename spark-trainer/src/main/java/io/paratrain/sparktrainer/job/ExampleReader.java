package io.paratrain.sparktrainer.job;

import io.paratrain.sparktrainer.exceptions.BadRecordException;
import io.paratrain.sparktrainer.exceptions.TrainingInputException;
import org.apache.hadoop.io.LongWritable;
import org.apache.hadoop.io.Text;
import org.apache.hadoop.mapreduce.lib.input.FileSplit;
import org.apache.spark.api.java.JavaNewHadoopRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.StructField;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import scala.Tuple2;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;

import static org.apache.spark.sql.functions.col;

/**
 * Reads labelled examples for a network with {@code features} inputs and {@code classes} outputs, one DataSet per
 * example, in file order: the files of a folder (or glob) in name order, so the same data gives the same model on
 * any file system. Every row is checked, features finite after {@code scale}; the first bad one fails the check
 * ({@link CheckedExamples#check}) with its file, line or row and what was expected:
 * <ul>
 *   <li>CSV: {@code label,f1,...,fn} per line, label an integer class.</li>
 *   <li>LibSVM: {@code label i:v i:v ...}, 1-based ascending indices up to n.</li>
 *   <li>Parquet: a numeric {@code label} column and either a Spark ML vector column {@code features} or n more
 *       numeric columns.</li>
 * </ul>
 */
public final class ExampleReader implements Serializable
{
    private final int features;
    private final int classes;
    private final float scale;

    public ExampleReader(final int features, final int classes, final double scale)
    {
        this.features = features;
        this.classes = classes;
        this.scale = (float)scale;
    }

    public CheckedExamples read(final JavaSparkContext sc, final String path, final String format)
    {
        final String resolved = "auto".equals(format) ? formatOf(path) : format;
        return switch (resolved)
        {
            case "csv", "libsvm" -> readText(sc, path, "libsvm".equals(resolved));
            case "parquet" -> readParquet(sc, path);
            default -> throw new TrainingInputException("unknown format " + resolved + " for " + path);
        };
    }

    /**
     * Reads a CSV resource bundled in the jar (gzip), through the driver: it works the same in local mode and on
     * a cluster whose executors cannot see the driver's files.
     */
    public CheckedExamples readBundledCsv(final JavaSparkContext sc, final String resource, final int partitions)
    {
        final List<String> lines = BundledData.lines(resource);
        final List<Tuple2<Integer, String>> numbered = new ArrayList<>(lines.size());
        for (int i = 0; i < lines.size(); i++)
        {
            numbered.add(new Tuple2<>(i + 1, lines.get(i)));
        }
        // The lines travel inside the tasks: keep each under Spark's 1 MiB task-size warning.
        final long chars = lines.stream().mapToLong(String::length).sum();
        final int slices = (int)Math.max(partitions, chars / (512 * 1024) + 1);
        return new CheckedExamples(sc.parallelize(numbered, slices).map(line ->
        {
            try
            {
                return parseCsvLine(line._2(), "bundled " + resource + " line " + line._1());
            }
            catch (final BadRecordException ex)
            {
                return Parsed.refused(BadRecord.at(ex.where(), ex.problem()));
            }
        }));
    }

    static String formatOf(final String path)
    {
        final String name = path.toLowerCase(Locale.ROOT).replaceAll("\\.(gz|bz2|deflate|zst)$", "");
        if (name.endsWith(".parquet") || !name.contains("."))
        {
            return name.endsWith(".parquet") ? "parquet" : "csv";
        }
        if (name.endsWith(".libsvm") || name.endsWith(".svm") || name.endsWith(".txt"))
        {
            return "libsvm";
        }
        return "csv";
    }

    private CheckedExamples readText(final JavaSparkContext sc, final String path, final boolean libsvm)
    {
        final JavaNewHadoopRDD<LongWritable, Text> lines = (JavaNewHadoopRDD<LongWritable, Text>)sc.newAPIHadoopFile(
            path, NameOrderTextInputFormat.class, LongWritable.class, Text.class, sc.hadoopConfiguration());
        return new CheckedExamples(lines.mapPartitionsWithInputSplit((split, records) ->
        {
            final FileSplit part = (FileSplit)split;
            final String file = part.getPath().toString();
            final List<Parsed> examples = new ArrayList<>();
            long lineInPart = 0;
            while (records.hasNext())
            {
                final Tuple2<LongWritable, Text> record = records.next();
                final String line = record._2().toString();
                lineInPart++;
                if (line.isBlank())
                {
                    continue;
                }
                final String where = file + " line " + lineInPart; // the file's line only when the part starts it
                try
                {
                    examples.add(libsvm ? parseLibSvmLine(line, where) : parseCsvLine(line, where));
                }
                catch (final BadRecordException ex)
                {
                    // The first bad line ends the part: the check reports it, nothing trains on this data.
                    examples.add(Parsed.refused(part.getStart() == 0 ? BadRecord.at(where, ex.problem()) :
                        BadRecord.inPart(file, part.getStart(), record._1().get(), line, ex.problem())));
                    break;
                }
            }
            return examples.iterator();
        }, true));
    }

    /** One CSV line as an example; throws {@link BadRecordException} naming {@code where}. */
    public DataSet parseCsv(final String line, final String where)
    {
        return parseCsvLine(line, where).example();
    }

    private Parsed parseCsvLine(final String line, final String where)
    {
        final String[] fields = line.split(",", -1);
        if (fields.length != features + 1)
        {
            throw new BadRecordException(where, "expected 1 label and " + features + " features = " +
                (features + 1) + " comma-separated fields (the model's nIn is " + features + "), found " +
                fields.length);
        }
        final float[] x = new float[features];
        for (int f = 0; f < features; f++)
        {
            x[f] = number(fields[f + 1], where, "field " + (f + 2)) * scale;
        }
        return example(x, label(fields[0], where), where);
    }

    DataSet parseLibSvm(final String line, final String where)
    {
        return parseLibSvmLine(line, where).example();
    }

    private Parsed parseLibSvmLine(final String line, final String where)
    {
        final String[] tokens = line.trim().split("\\s+");
        final float[] x = new float[features];
        int previous = 0;
        for (int t = 1; t < tokens.length; t++)
        {
            final int colon = tokens[t].indexOf(':');
            if (colon <= 0)
            {
                throw new BadRecordException(where, "token " + (t + 1) + " '" + tokens[t] + "' is not index:value");
            }
            final int index;
            try
            {
                index = Integer.parseInt(tokens[t].substring(0, colon));
            }
            catch (final NumberFormatException ex)
            {
                throw new BadRecordException(where, "token " + (t + 1) + " '" + tokens[t] +
                    "' has a non-integer index");
            }
            if (index <= previous || index > features)
            {
                throw new BadRecordException(where, "index " + index + " in token " + (t + 1) +
                    " must be ascending and within 1.." + features + " (the model's nIn)");
            }
            x[index - 1] = number(tokens[t].substring(colon + 1), where, "token " + (t + 1)) * scale;
            previous = index;
        }
        return example(x, label(tokens[0], where), where);
    }

    /**
     * Parquet rows in file-name order, then row order within each file: Spark's scan orders its file chunks by
     * size, so without the sort the example order (and so the model) would depend on file sizes and the listing.
     * The sort also gives each row its number in its file.
     */
    private CheckedExamples readParquet(final JavaSparkContext sc, final String path)
    {
        final SparkSession spark = SparkSession.builder().sparkContext(sc.sc()).getOrCreate();
        final Dataset<Row> data = spark.read().parquet(path);
        final List<String> columns = List.of(data.columns());
        if (!columns.contains("label"))
        {
            throw new TrainingInputException("Parquet data " + path + " has no 'label' column; columns: " + columns);
        }
        final boolean vector = columns.contains("features");
        if (!vector && columns.size() - 1 != features)
        {
            throw new TrainingInputException("Parquet data " + path + " has " + (columns.size() - 1) +
                " feature columns besides 'label'; the model's nIn is " + features +
                " (or give one vector column named 'features')");
        }
        for (final StructField field : data.schema().fields())
        {
            final boolean used = !vector || field.name().equals("label");
            if (used && !(field.dataType() instanceof NumericType))
            {
                throw new TrainingInputException("Parquet data " + path + ": column '" + field.name() + "' is " +
                    field.dataType().simpleString() + "; the label and feature columns must be numeric");
            }
        }
        if (vector && !SQLDataTypes.VectorType().equals(data.schema().apply("features").dataType()))
        {
            throw new TrainingInputException("Parquet data " + path + ": column 'features' is " +
                data.schema().apply("features").dataType().simpleString() + ", expected a Spark ML vector");
        }
        final List<String> featureColumns = vector ? List.of("features") :
            columns.stream().filter(c -> !c.equals("label")).toList();
        final List<org.apache.spark.sql.Column> selected = new ArrayList<>();
        selected.add(col("_metadata.file_path").as("_file"));
        selected.add(col("_metadata.row_index").as("_row"));
        selected.add(col("label"));
        featureColumns.forEach(c -> selected.add(col(c)));
        final Dataset<Row> ordered = data.select(selected.toArray(org.apache.spark.sql.Column[]::new))
            .orderBy("_file", "_row");
        return new CheckedExamples(ordered.javaRDD().mapPartitions((Iterator<Row> rows) ->
        {
            final List<Parsed> examples = new ArrayList<>();
            while (rows.hasNext())
            {
                final Row row = rows.next();
                final String where = row.getString(0) + " row " + (row.getLong(1) + 1);
                try
                {
                    examples.add(parquetRow(row, featureColumns, vector, where));
                }
                catch (final BadRecordException ex)
                {
                    examples.add(Parsed.refused(BadRecord.at(ex.where(), ex.problem())));
                    break;
                }
            }
            return examples.iterator();
        }));
    }

    /** A row of (file, row index, label, features vector | feature columns...). */
    private Parsed parquetRow(final Row row, final List<String> featureColumns, final boolean vector,
        final String where)
    {
        if (row.isNullAt(2))
        {
            throw new BadRecordException(where, "the label is null");
        }
        final float[] x = new float[features];
        if (vector)
        {
            if (row.isNullAt(3))
            {
                throw new BadRecordException(where, "the features vector is null");
            }
            final Vector v = row.getAs(3);
            if (v.size() != features)
            {
                throw new BadRecordException(where, "features vector has " + v.size() +
                    " elements, the model's nIn is " + features);
            }
            for (int f = 0; f < features; f++)
            {
                x[f] = (float)v.apply(f) * scale;
            }
        }
        else
        {
            for (int f = 0; f < features; f++)
            {
                if (row.isNullAt(3 + f))
                {
                    throw new BadRecordException(where, "column '" + featureColumns.get(f) + "' is null");
                }
                x[f] = ((Number)row.get(3 + f)).floatValue() * scale;
            }
        }
        return example(x, label(String.valueOf(row.get(2)), where), where);
    }

    /** The example, after checking its label and that every feature is finite (after the scale). */
    private Parsed example(final float[] x, final int label, final String where)
    {
        if (label < 0 || label >= classes)
        {
            throw new BadRecordException(where, "label " + label + " is out of range 0.." + (classes - 1) +
                " (the model's output layer has " + classes + " classes)");
        }
        float min = Float.POSITIVE_INFINITY;
        float max = Float.NEGATIVE_INFINITY;
        for (int f = 0; f < features; f++)
        {
            if (!Float.isFinite(x[f]))
            {
                throw new BadRecordException(where, "feature " + (f + 1) + " is " + x[f] +
                    (scale != 1f ? " after --feature-scale " + scale : "") + "; features must be finite numbers");
            }
            min = Math.min(min, x[f]);
            max = Math.max(max, x[f]);
        }
        final float[] y = new float[classes];
        y[label] = 1;
        return new Parsed(new DataSet(Nd4j.create(x, 1, features), Nd4j.create(y, 1, classes)), min, max, null);
    }

    private static int label(final String text, final String where)
    {
        final double value = number(text, where, "the label");
        if (value != Math.rint(value))
        {
            throw new BadRecordException(where, "label '" + text.trim() + "' is not an integer class");
        }
        return (int)value;
    }

    private static float number(final String text, final String where, final String what)
    {
        try
        {
            final float value = Float.parseFloat(text.trim());
            if (!Float.isFinite(value))
            {
                throw new NumberFormatException("not finite");
            }
            return value;
        }
        catch (final NumberFormatException ex)
        {
            throw new BadRecordException(where, what + " '" + text.trim() + "' is not a finite number");
        }
    }
}
