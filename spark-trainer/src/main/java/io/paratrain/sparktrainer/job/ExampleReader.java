package io.paratrain.sparktrainer.job;

import io.paratrain.sparktrainer.exceptions.TrainingInputException;
import org.apache.hadoop.io.LongWritable;
import org.apache.hadoop.io.Text;
import org.apache.hadoop.mapreduce.lib.input.FileSplit;
import org.apache.hadoop.mapreduce.lib.input.TextInputFormat;
import org.apache.spark.api.java.JavaNewHadoopRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;

/**
 * Reads labelled examples for a network with {@code features} inputs and {@code classes} outputs, one DataSet per
 * example, in file order. Every row is checked; the first bad one fails the read with its file, line and what
 * was expected:
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

    public JavaRDD<DataSet> read(final JavaSparkContext sc, final String path, final String format)
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
    public JavaRDD<DataSet> readBundledCsv(final JavaSparkContext sc, final String resource, final int partitions)
    {
        final List<String> lines = BundledData.lines(resource);
        final List<scala.Tuple2<Integer, String>> numbered = new ArrayList<>(lines.size());
        for (int i = 0; i < lines.size(); i++)
        {
            numbered.add(new scala.Tuple2<>(i + 1, lines.get(i)));
        }
        // The lines travel inside the tasks: keep each under Spark's 1 MiB task-size warning.
        final long chars = lines.stream().mapToLong(String::length).sum();
        final int slices = (int)Math.max(partitions, chars / (512 * 1024) + 1);
        return sc.parallelize(numbered, slices)
            .map(line -> parseCsv(line._2(), "bundled " + resource + " line " + line._1()));
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

    private JavaRDD<DataSet> readText(final JavaSparkContext sc, final String path, final boolean libsvm)
    {
        final JavaNewHadoopRDD<LongWritable, Text> lines = (JavaNewHadoopRDD<LongWritable, Text>)sc.newAPIHadoopFile(
            path, TextInputFormat.class, LongWritable.class, Text.class, sc.hadoopConfiguration());
        return lines.mapPartitionsWithInputSplit((split, records) ->
        {
            final FileSplit file = (FileSplit)split;
            final List<DataSet> examples = new ArrayList<>();
            long lineNumber = 0;
            while (records.hasNext())
            {
                final String line = records.next()._2().toString();
                lineNumber++;
                if (line.isBlank())
                {
                    continue;
                }
                final String where = file.getStart() == 0 ? file.getPath() + " line " + lineNumber :
                    file.getPath() + " line " + lineNumber + " of the part starting at byte " + file.getStart();
                examples.add(libsvm ? parseLibSvm(line, where) : parseCsv(line, where));
            }
            return examples.iterator();
        }, true);
    }

    public DataSet parseCsv(final String line, final String where)
    {
        final String[] fields = line.split(",", -1);
        if (fields.length != features + 1)
        {
            throw new TrainingInputException(where + ": expected 1 label and " + features + " features = " +
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
        final String[] tokens = line.trim().split("\\s+");
        final float[] x = new float[features];
        int previous = 0;
        for (int t = 1; t < tokens.length; t++)
        {
            final int colon = tokens[t].indexOf(':');
            if (colon <= 0)
            {
                throw new TrainingInputException(where + ": token " + (t + 1) + " '" + tokens[t] +
                    "' is not index:value");
            }
            final int index;
            try
            {
                index = Integer.parseInt(tokens[t].substring(0, colon));
            }
            catch (final NumberFormatException ex)
            {
                throw new TrainingInputException(where + ": token " + (t + 1) + " '" + tokens[t] +
                    "' has a non-integer index");
            }
            if (index <= previous || index > features)
            {
                throw new TrainingInputException(where + ": index " + index + " in token " + (t + 1) +
                    " must be ascending and within 1.." + features + " (the model's nIn)");
            }
            x[index - 1] = number(tokens[t].substring(colon + 1), where, "token " + (t + 1)) * scale;
            previous = index;
        }
        return example(x, label(tokens[0], where), where);
    }

    private JavaRDD<DataSet> readParquet(final JavaSparkContext sc, final String path)
    {
        final SparkSession spark = SparkSession.builder().sparkContext(sc.sc()).getOrCreate();
        final Dataset<Row> table = spark.read().parquet(path).withColumn("_file", functions.input_file_name());
        final List<String> columns = List.of(table.columns());
        if (!columns.contains("label"))
        {
            throw new TrainingInputException("Parquet data " + path + " has no 'label' column; columns: " + columns);
        }
        final boolean vector = columns.contains("features");
        final int featureColumns = columns.size() - 2;
        if (!vector && featureColumns != features)
        {
            throw new TrainingInputException("Parquet data " + path + " has " + featureColumns +
                " feature columns besides 'label'; the model's nIn is " + features +
                " (or give one vector column named 'features')");
        }
        final int labelIndex = columns.indexOf("label");
        final int fileIndex = columns.indexOf("_file");
        final int vectorIndex = columns.indexOf("features");
        return table.javaRDD().mapPartitions((Iterator<Row> rows) ->
        {
            final List<DataSet> examples = new ArrayList<>();
            long rowNumber = 0;
            while (rows.hasNext())
            {
                final Row row = rows.next();
                rowNumber++;
                final String where = row.getString(fileIndex) + " row " + rowNumber;
                final float[] x = new float[features];
                if (vector)
                {
                    final Vector v = row.getAs(vectorIndex);
                    if (v.size() != features)
                    {
                        throw new TrainingInputException(where + ": features vector has " + v.size() +
                            " elements, the model's nIn is " + features);
                    }
                    for (int f = 0; f < features; f++)
                    {
                        x[f] = (float)v.apply(f) * scale;
                    }
                }
                else
                {
                    int f = 0;
                    for (int c = 0; c < row.size(); c++)
                    {
                        if (c != labelIndex && c != fileIndex)
                        {
                            x[f++] = ((Number)row.get(c)).floatValue() * scale;
                        }
                    }
                }
                examples.add(example(x, label(String.valueOf(row.get(labelIndex)), where), where));
            }
            return examples.iterator();
        });
    }

    private DataSet example(final float[] x, final int label, final String where)
    {
        if (label < 0 || label >= classes)
        {
            throw new TrainingInputException(where + ": label " + label + " is out of range 0.." + (classes - 1) +
                " (the model's output layer has " + classes + " classes)");
        }
        final float[] y = new float[classes];
        y[label] = 1;
        return new DataSet(Nd4j.create(x, 1, features), Nd4j.create(y, 1, classes));
    }

    private static int label(final String text, final String where)
    {
        final double value = number(text, where, "the label");
        if (value != Math.rint(value))
        {
            throw new TrainingInputException(where + ": label '" + text.trim() + "' is not an integer class");
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
            throw new TrainingInputException(where + ": " + what + " '" + text.trim() + "' is not a finite number");
        }
    }
}
