package io.paratrain.sparktrainer.job;

import io.paratrain.sparktrainer.exceptions.TrainingInputException;
import io.paratrain.sparktrainer.job.ExportedCheck.FileReport;
import org.apache.hadoop.conf.Configuration;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The check of one exported MultiDataSet file against a graph ({@link ExportedCheck#checkMulti}): it loads, holds
 * one features array per graph input and one labels array per output, of rank 2 or more with as many examples
 * each, finite features, and for matrices the widths the graph's configuration states ({@link MultiGraphShape}).
 */
final class MultiFileCheck
{
    private static final String KIND = "MultiDataSet";

    private MultiFileCheck()
    {
    }

    static FileReport report(final String file, final Configuration hadoop, final MultiGraphShape shape)
    {
        final MultiDataSet data;
        try
        {
            data = ExportedFiles.loadOneMulti(file, hadoop);
        }
        catch (final TrainingInputException ex)
        {
            return FileReport.failed(ex.getMessage());
        }
        final INDArray[] features = data.getFeatures();
        final INDArray[] labels = data.getLabels();
        if (features.length != shape.inputs().size() || labels.length != shape.outputs().size())
        {
            return FileReport.bad(KIND, file, String.format(Locale.ROOT, "%d features arrays and %d labels " +
                "arrays, expected %d and %d (the graph's inputs %s and outputs %s)", features.length, labels.length,
                shape.inputs().size(), shape.outputs().size(), shape.inputs(), shape.outputs()));
        }
        final long examples = features[0].rank() < 2 ? -1 : features[0].size(0);
        final String problem = arrays("features", features, shape.inputs(), shape.widths(), examples, "nIn of the " +
            "layers input '%s' feeds");
        if (problem != null)
        {
            return FileReport.bad(KIND, file, problem);
        }
        final String labelProblem = arrays("labels", labels, shape.outputs(), shape.nOuts(), examples, "nOut of " +
            "the output layer '%s'");
        if (labelProblem != null)
        {
            return FileReport.bad(KIND, file, labelProblem);
        }
        for (int i = 0; i < features.length; i++)
        {
            if (ExportedCheck.notFinite(features[i]))
            {
                return FileReport.bad(KIND, file, "features " + i + " ('" + shape.inputs().get(i) + "') hold " +
                    "NaN or infinite values; features must be finite numbers");
            }
        }
        return FileReport.good(examples, features);
    }

    /** The first of {@code arrays} that is not rank 2+ with {@code examples} rows and its stated width, or null. */
    private static String arrays(final String what, final INDArray[] arrays, final List<String> names,
        final long[] widths, final long examples, final String widthSource)
    {
        for (int i = 0; i < arrays.length; i++)
        {
            final INDArray array = arrays[i];
            final String shape = Arrays.toString(array.shape());
            if (array.rank() < 2 || examples < 0)
            {
                return String.format(Locale.ROOT, "%s %d ('%s') of shape %s: expected an array of rank 2 or more " +
                    "(examples along dimension 0)", what, i, names.get(i), shape);
            }
            if (array.size(0) != examples)
            {
                return String.format(Locale.ROOT, "%s %d ('%s') of shape %s: expected %d examples (dimension 0), " +
                    "as many as features 0", what, i, names.get(i), shape, examples);
            }
            if (widths[i] >= 0 && array.rank() == 2 && array.size(1) != widths[i])
            {
                return String.format(Locale.ROOT, "%s %d ('%s') of shape %s have %d columns, expected %d (the " +
                    widthSource + ")", what, i, names.get(i), shape, array.size(1), widths[i], names.get(i));
            }
        }
        return null;
    }
}
