package io.paratrain.sparktrainer.job;

import org.nd4j.evaluation.IEvaluation;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.evaluation.classification.EvaluationBinary;
import org.nd4j.evaluation.regression.RegressionEvaluation;

import java.io.PrintStream;
import java.util.List;
import java.util.Locale;

/**
 * The job's test evaluation, printed at its end and written to the metrics file: one classifier's figures, one line
 * per output of a graph with several, or why a graph's outputs were not evaluated.
 */
sealed interface TestReport permits TestReport.OneOutput, TestReport.PerOutput, TestReport.Skipped
{
    /** Prints the evaluation of the test data called {@code testName}. */
    void print(PrintStream out, String testName);

    /** Writes the evaluation's line(s) to the metrics file. */
    void record(MetricsFile metrics);

    /**
     * A network or a graph with one output: precision, recall, F1, the confusion matrix and, last, the line
     * {@code accuracy=<test accuracy>}; one {@code "type":"evaluation"} line in the metrics (the accuracy chart's).
     */
    record OneOutput(Evaluation evaluation) implements TestReport
    {
        @Override
        public void print(final PrintStream out, final String testName)
        {
            out.printf(Locale.ROOT, "test: %s%nprecision=%.4f recall=%.4f f1=%.4f%n", testName,
                evaluation.precision(), evaluation.recall(), evaluation.f1());
            out.println(evaluation.confusionToString());
            out.printf(Locale.ROOT, "accuracy=%.4f%n", evaluation.accuracy());
        }

        @Override
        public void record(final MetricsFile metrics)
        {
            metrics.evaluation(evaluation.accuracy(), evaluation.precision(), evaluation.recall(), evaluation.f1());
        }
    }

    /**
     * A graph with several outputs: one line per output, named by the graph's output names, in their order; a
     * classifier's accuracy, precision, recall and F1, a binary output's the same averaged over its columns, a
     * regression's MSE, MAE, RMSE and R^2 averaged over its columns. No {@code accuracy=} line and no
     * {@code "type":"evaluation"} metrics line: no one output's accuracy is the model's. The metrics get one
     * {@code "type":"output_evaluation"} line per output instead.
     *
     * @param outputs     the graph's output names.
     * @param evaluations per output, an Evaluation, an EvaluationBinary or a RegressionEvaluation
     *                    (DataParallelTrainer.evaluateOutputs).
     */
    record PerOutput(List<String> outputs, List<IEvaluation<?>> evaluations) implements TestReport
    {
        public PerOutput
        {
            outputs = List.copyOf(outputs);
            evaluations = List.copyOf(evaluations);
            if (outputs.size() != evaluations.size())
            {
                throw new IllegalArgumentException(outputs.size() + " outputs " + outputs + " and " +
                    evaluations.size() + " evaluations");
            }
        }

        @Override
        public void print(final PrintStream out, final String testName)
        {
            out.printf("test: %s%n", testName);
            for (int i = 0; i < outputs.size(); i++)
            {
                out.println(line(outputs.get(i), evaluations.get(i)));
            }
        }

        /**
         * e.g. {@code output class: accuracy=0.9543 precision=0.9512 recall=0.9498 f1=0.9503},
         * {@code output flags: accuracy=0.9100 precision=0.8800 recall=0.9000 f1=0.8897 (mean of 3 columns)} or
         * {@code output value: mse=0.0123400 mae=0.0876500 rmse=0.111086 r2=0.954300 (mean of 2 columns)}.
         */
        static String line(final String output, final IEvaluation<?> evaluation)
        {
            if (evaluation instanceof Evaluation classifier)
            {
                return String.format(Locale.ROOT, "output %s: accuracy=%.4f precision=%.4f recall=%.4f f1=%.4f",
                    output, classifier.accuracy(), classifier.precision(), classifier.recall(), classifier.f1());
            }
            if (evaluation instanceof EvaluationBinary binary)
            {
                return String.format(Locale.ROOT, "output %s: accuracy=%.4f precision=%.4f recall=%.4f f1=%.4f " +
                    "(mean of %d column%s)", output, binary.averageAccuracy(), binary.averagePrecision(),
                    binary.averageRecall(), binary.averageF1(), binary.numLabels(), binary.numLabels() == 1 ? "" : "s");
            }
            final RegressionEvaluation regression = (RegressionEvaluation)evaluation;
            return String.format(Locale.ROOT, "output %s: mse=%.6g mae=%.6g rmse=%.6g r2=%.6g (mean of %d " +
                "column%s)", output, regression.averageMeanSquaredError(), regression.averageMeanAbsoluteError(),
                regression.averagerootMeanSquaredError(), regression.averageRSquared(), regression.numColumns(),
                regression.numColumns() == 1 ? "" : "s");
        }

        @Override
        public void record(final MetricsFile metrics)
        {
            for (int i = 0; i < outputs.size(); i++)
            {
                if (evaluations.get(i) instanceof Evaluation classifier)
                {
                    metrics.classifierOutput(outputs.get(i), classifier.accuracy(), classifier.precision(),
                        classifier.recall(), classifier.f1());
                }
                else if (evaluations.get(i) instanceof EvaluationBinary binary)
                {
                    metrics.classifierOutput(outputs.get(i), binary.averageAccuracy(), binary.averagePrecision(),
                        binary.averageRecall(), binary.averageF1());
                }
                else
                {
                    final RegressionEvaluation regression = (RegressionEvaluation)evaluations.get(i);
                    metrics.regressionOutput(outputs.get(i), regression.averageMeanSquaredError(),
                        regression.averageMeanAbsoluteError(), regression.averagerootMeanSquaredError(),
                        regression.averageRSquared());
                }
            }
        }
    }

    /** A graph with an output the trainer cannot evaluate: the reason instead of figures. */
    record Skipped(String reason) implements TestReport
    {
        @Override
        public void print(final PrintStream out, final String testName)
        {
            out.printf("test: %s: evaluation skipped: %s%n", testName, reason);
        }

        @Override
        public void record(final MetricsFile metrics)
        {
            // nothing was measured
        }
    }
}
