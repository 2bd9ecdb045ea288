package io.paratrain.sparktrainer.job;

import io.paratrain.sparktrainer.exceptions.TrainingInputException;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.SerializableWritable;
import org.apache.spark.api.java.JavaSparkContext;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.indexing.BooleanIndexing;
import org.nd4j.linalg.indexing.conditions.Conditions;

import java.io.Serializable;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The check of exported DataSet (and, with {@link MultiFileCheck}, MultiDataSet) files before training, as
 * {@link CheckedExamples#check} checks rows: one Spark job loads every file once and returns what it found as a value
 * (so a bad file fails the job at once instead of making Spark retry its task); the driver throws the first bad file
 * in training order, naming it and what was expected. A file must load, hold features and labels with as many examples
 * each, finite features and, for matrices, the model's nIn feature columns (unless an input preprocessor reshapes
 * them) and its number of label columns. Images and sequences (rank 3 and 4) are left to the model's layers, whose
 * expected layout (channels or time first) the configuration does not say in one place.
 */
final class ExportedCheck
{
    private ExportedCheck()
    {
    }

    /** Examples and the smallest and largest feature, as {@link CheckedExamples.Summary}. */
    record Summary(long examples, float minFeature, float maxFeature)
    {
    }

    static Summary check(final JavaSparkContext sc, final List<String> files, final int partitions,
        final JobModel model)
    {
        final SerializableWritable<Configuration> hadoop = new SerializableWritable<>(sc.hadoopConfiguration());
        final int inputs = model.reshapesInput() ? -1 : model.inputs();
        final int classes = model.classes();
        return summary(sc.parallelize(files, partitions)
            .map(file -> report(file, hadoop.value(), inputs, classes)).collect());
    }

    /**
     * As {@link #check} for MultiDataSet files and a graph of any number of inputs and outputs: one features array
     * per input and one labels array per output, as many examples in each, finite features and, for matrices, the
     * widths {@code shape} states.
     */
    static Summary checkMulti(final JavaSparkContext sc, final List<String> files, final int partitions,
        final MultiGraphShape shape)
    {
        final SerializableWritable<Configuration> hadoop = new SerializableWritable<>(sc.hadoopConfiguration());
        return summary(sc.parallelize(files, partitions)
            .map(file -> MultiFileCheck.report(file, hadoop.value(), shape)).collect());
    }

    /** The first bad file's problem in training order (collect() keeps it), else the files' totals. */
    private static Summary summary(final List<FileReport> reports)
    {
        long examples = 0;
        float min = Float.POSITIVE_INFINITY;
        float max = Float.NEGATIVE_INFINITY;
        for (final FileReport report : reports)
        {
            if (report.problem() != null)
            {
                throw new TrainingInputException(report.problem());
            }
            examples += report.examples();
            min = Math.min(min, report.minFeature());
            max = Math.max(max, report.maxFeature());
        }
        return new Summary(examples, min, max);
    }

    /** What one file holds, or what is wrong with it (the whole message, naming the file). */
    record FileReport(long examples, float minFeature, float maxFeature, String problem) implements Serializable
    {
        static FileReport bad(final String file, final String problem)
        {
            return bad("DataSet", file, problem);
        }

        /** {@code kind}: "DataSet" or "MultiDataSet", what the file holds. */
        static FileReport bad(final String kind, final String file, final String problem)
        {
            return failed("exported " + kind + " " + file + ": " + problem);
        }

        /** The file's problem as a whole message (what {@link ExportedFiles} threw). */
        static FileReport failed(final String message)
        {
            return new FileReport(0, Float.NaN, Float.NaN, message);
        }

        /** A good file of {@code examples} whose features are {@code features}. */
        static FileReport good(final long examples, final INDArray... features)
        {
            float min = Float.POSITIVE_INFINITY;
            float max = Float.NEGATIVE_INFINITY;
            for (final INDArray array : features)
            {
                min = Math.min(min, array.minNumber().floatValue());
                max = Math.max(max, array.maxNumber().floatValue());
            }
            return new FileReport(examples, min, max, null);
        }
    }

    /** Whether {@code features} hold a NaN or an infinity. */
    static boolean notFinite(final INDArray features)
    {
        return BooleanIndexing.or(features, Conditions.notFinite());
    }

    /** {@code inputs} -1: the width of the features is not checked. */
    private static FileReport report(final String file, final Configuration hadoop, final int inputs,
        final int classes)
    {
        final DataSet data;
        try
        {
            data = ExportedFiles.loadOne(file, hadoop);
        }
        catch (final TrainingInputException ex)
        {
            return FileReport.failed(ex.getMessage());
        }
        final INDArray features = data.getFeatures();
        final INDArray labels = data.getLabels();
        if (features.rank() < 2 || labels.rank() < 2 || features.size(0) != labels.size(0))
        {
            return FileReport.bad(file, "features of shape " + Arrays.toString(features.shape()) + " and labels " +
                "of shape " + Arrays.toString(labels.shape()) + ": expected arrays of rank 2 or more with as many " +
                "examples (dimension 0) each");
        }
        if (inputs >= 0 && features.rank() == 2 && features.size(1) != inputs)
        {
            return FileReport.bad(file, String.format(Locale.ROOT, "features of shape %s have %d columns, " +
                "expected %d (the model's nIn)", Arrays.toString(features.shape()), features.size(1), inputs));
        }
        if (labels.rank() == 2 && labels.size(1) != classes)
        {
            return FileReport.bad(file, String.format(Locale.ROOT, "labels of shape %s have %d columns, expected " +
                "%d (the model's output layer has %d classes)", Arrays.toString(labels.shape()), labels.size(1),
                classes, classes));
        }
        if (notFinite(features))
        {
            return FileReport.bad(file, "features hold NaN or infinite values; features must be finite numbers");
        }
        return FileReport.good(features.size(0), features);
    }
}
