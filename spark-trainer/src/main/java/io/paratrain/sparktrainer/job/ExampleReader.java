package io.paratrain.sparktrainer.job;

import io.paratrain.sparktrainer.exceptions.BadRecordException;
import io.paratrain.sparktrainer.exceptions.TrainingInputException;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.StructField;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import static org.apache.spark.sql.functions.col;

/**
 * Reads labelled examples for a network with {@code features} inputs and {@code classes} outputs through Spark's
 * own data sources, in file order: the files of a folder (or glob) in name order, then row order within each
 * file, so the same data gives the same model on any file system. Every row is checked, features finite after
 * {@code scale}; the first bad one fails the check ({@link CheckedExamples#check}) with its file, line or row and
 * what was expected:
 * <ul>
 *   <li>CSV: {@code label,f1,...,fn} per line, label an integer class.</li>
 *   <li>LibSVM: {@code label i:v i:v ...}, 1-based ascending indices up to n.</li>
 *   <li>Parquet: a numeric {@code label} column and either a Spark ML vector column {@code features} or n more
 *       numeric columns.</li>
 * </ul>
 * CSV and LibSVM lines are read by Hadoop's line reader (the one under Spark's {@code textFile} and text source) in
 * parts of the files listed in name order ({@link TextParts}), and parsed in the tasks ({@link RecordChecks}, from
 * the lines' bytes), not by Spark's CSV and libsvm readers: measured on 60,000 MNIST rows (785 columns), Spark's CSV
 * reader with an explicit float schema parsed ~3,300 rows/s on 2 cores and its analysis of the 786-column plan took
 * ~20 s more; and Spark's libsvm reader throws on the first malformed line, which fails the task, has Spark retry it
 * and names neither file nor line. Parquet rows come from Spark's reader, each with its file and the first byte of
 * its part (Spark's {@code _metadata}).
 * <p>
 * The tasks count rows within parts, so the driver can name a bad line ({@link LineLocator}) and put the parts in
 * data order ({@link DataOrder}: Spark's Parquet scan orders its file parts by size) unless they were read in that
 * order already, in the partitions the examples go to (text read for its partitions, the bundled data).
 */
public final class ExampleReader implements Serializable
{
    private static final long serialVersionUID = 1L;

    private final RecordChecks checks;

    public ExampleReader(final int features, final int classes, final double scale)
    {
        this.checks = new RecordChecks(features, classes, (float)scale);
    }

    public CheckedExamples read(final JavaSparkContext sc, final String path, final String format)
    {
        return read(sc, path, format, 0);
    }

    /**
     * As {@link #read(JavaSparkContext, String, String)}, for {@code examples(partitions)}: when that many tasks
     * use every core ({@code partitions >= } Spark's default parallelism), CSV and LibSVM lines are read and parsed
     * in those partitions, consecutive parts of the files in each, and the examples need no shuffle into data
     * order (the partitions then hold about equal bytes, not exactly equal example counts, which the trainer does
     * not need). Otherwise, and for Parquet, the parts are read on every core and put in order by a shuffle.
     */
    public CheckedExamples read(final JavaSparkContext sc, final String path, final String format,
        final int partitions)
    {
        final int direct = partitions >= sc.defaultParallelism() ? partitions : 0;
        final String resolved = "auto".equals(format) ? formatOf(path) : format;
        final String[] paths = java.util.Arrays.stream(path.split(",")).map(String::trim).toArray(String[]::new);
        final Configuration hadoop = sc.hadoopConfiguration();
        return switch (resolved)
        {
            case "csv" -> text(sc, paths, ChunkBuilder.Layout.CSV, direct, hadoop);
            case "libsvm" -> text(sc, paths, ChunkBuilder.Layout.LIBSVM, direct, hadoop);
            case "parquet" -> readParquet(SparkSession.builder().sparkContext(sc.sc()).getOrCreate(), path, paths,
                hadoop);
            default -> throw new TrainingInputException("unknown format " + resolved + " for " + path);
        };
    }

    /**
     * Reads a CSV resource bundled in the jar (gzip). Each of the {@code partitions} tasks reads it from the jar on
     * its own classpath (the jar its code runs from, in local mode and on a cluster alike), unpacks it and parses
     * the lines of its share of the examples, as {@link CheckedExamples#examples} splits them: the parsed partitions
     * are already in data order, and {@code examples(partitions)} needs no shuffle. The driver only checks that the
     * resource is there; it reads the lines only to name a refused one. (It used to unpack the file to cut the
     * ranges and broadcast it: 0.3-0.5 s of a cold job's driver time, for what every task unpacks anyway.)
     */
    public CheckedExamples readBundledCsv(final JavaSparkContext sc, final String resource, final int partitions)
    {
        BundledData.requirePresent(resource);
        final String name = "bundled " + resource;
        final ChunkBuilder builder = new ChunkBuilder(checks, ChunkBuilder.Layout.CSV, List.of());
        final JavaRDD<ExampleChunk> chunks = sc.parallelize(partsOf(partitions), partitions)
            .map(new BundledShare(resource, partitions, name, builder));
        return new CheckedExamples(chunks, checks, bad -> firstBadLine(BundledData.lines(resource), name, bad),
            partitions);
    }

    private static List<Integer> partsOf(final int partitions)
    {
        final List<Integer> parts = new ArrayList<>(partitions);
        for (int p = 0; p < partitions; p++)
        {
            parts.add(p);
        }
        return parts;
    }

    /** One CSV line as an example; throws {@link BadRecordException} naming {@code where}. */
    public DataSet parseCsv(final String line, final String where)
    {
        final float[] x = new float[checks.features()];
        final int label = checks.csvLine(line, where, x, 0);
        final float[] y = new float[checks.classes()];
        y[label] = 1;
        return new DataSet(Nd4j.create(x, 1, checks.features()), Nd4j.create(y, 1, checks.classes()));
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

    /** The lines of text files, parsed in their parts ({@link TextParts}), in {@code partitions} or one per part. */
    private CheckedExamples text(final JavaSparkContext sc, final String[] paths, final ChunkBuilder.Layout layout,
        final int partitions, final Configuration hadoop)
    {
        return new CheckedExamples(TextParts.read(sc, paths, partitions, new ChunkBuilder(checks, layout, List.of())),
            checks, bad -> LineLocator.describe(bad, hadoop), partitions);
    }

    /** The rows of Parquet files, each with its file and the first byte of its part. */
    private CheckedExamples files(final Dataset<Row> data, final ChunkBuilder.Layout layout,
        final List<String> featureColumns, final Configuration hadoop)
    {
        return new CheckedExamples(positioned(data, featureColumns).javaRDD().mapPartitions(new ChunkBuilder(checks,
            layout, featureColumns)), checks, bad -> LineLocator.describe(bad, hadoop), 0);
    }

    /** The columns {@link ChunkBuilder} reads: file, part start, row index, label, then the feature columns. */
    private static Dataset<Row> positioned(final Dataset<Row> data, final List<String> featureColumns)
    {
        final List<Column> selected = new ArrayList<>(List.of(col("_metadata.file_path"),
            col("_metadata.file_block_start"), col("_metadata.row_index"), col("label")));
        featureColumns.forEach(c -> selected.add(col(c)));
        return data.select(selected.toArray(Column[]::new));
    }

    private CheckedExamples readParquet(final SparkSession spark, final String path, final String[] paths,
        final Configuration hadoop)
    {
        final Dataset<Row> data = spark.read().parquet(paths);
        final List<String> columns = List.of(data.columns());
        if (!columns.contains("label"))
        {
            throw new TrainingInputException("Parquet data " + path + " has no 'label' column; columns: " + columns);
        }
        final boolean vector = columns.contains("features");
        if (!vector && columns.size() - 1 != checks.features())
        {
            throw new TrainingInputException("Parquet data " + path + " has " + (columns.size() - 1) +
                " feature columns besides 'label'; the model's nIn is " + checks.features() +
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
        return files(data, vector ? ChunkBuilder.Layout.PARQUET_VECTOR : ChunkBuilder.Layout.PARQUET_COLUMNS,
            featureColumns, hadoop);
    }

    /** The bundled data's first bad line, found by parsing its lines on the driver (only when one was refused). */
    private String firstBadLine(final List<String> lines, final String name, final BadRecord bad)
    {
        final float[] x = new float[checks.features()];
        for (int i = 0; i < lines.size(); i++)
        {
            if (lines.get(i).isBlank())
            {
                continue;
            }
            try
            {
                checks.csvLine(lines.get(i), name + " line " + (i + 1), x, 0);
            }
            catch (final BadRecordException ex)
            {
                return ex.getMessage();
            }
        }
        return name + ", row " + (bad.rowInPart() + 1) + " of part " + bad.partStart() + ": " + bad.problem();
    }
}
