package io.paratrain.sparktrainer.job;

import io.paratrain.sparktrainer.ExportedBatches;
import io.paratrain.sparktrainer.DataParallelTrainer;
import io.paratrain.sparktrainer.RawBits;
import io.paratrain.sparktrainer.TrainerConfig;
import io.paratrain.sparktrainer.exceptions.TrainingInputException;
import io.paratrain.sparktrainer.plot.MetricsLog;
import org.deeplearning4j.datasets.iterator.utilty.SingletonMultiDataSetIterator;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.MergeVertex;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.weights.WeightInit;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.evaluation.IEvaluation;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.evaluation.classification.EvaluationBinary;
import org.nd4j.evaluation.regression.RegressionEvaluation;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static io.paratrain.sparktrainer.job.InProcessJob.assertOptionRefused;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The job on exported MultiDataSet files ({@code --format exported-multi}): a graph with two inputs and two outputs
 * trains exactly as {@link DataParallelTrainer#fitPathsMultiDataSet} does on the same files (raw bits of parameters
 * and updater state) and prints each output's evaluation as DL4J counts it; a bad file is refused naming it; a
 * MultiLayerNetwork is refused with the way around.
 */
@Timeout(300)
class MultiExportedJobTest
{
    private static final int A = 4;
    private static final int B = 3;
    private static final int CLASSES = 3;
    private static final int VALUES = 2;
    @RegisterExtension
    static final InProcessJob JOB = new InProcessJob();

    @TempDir
    Path dir;

    @Test
    void aTwoInputTwoOutputGraphTrainsOnExportedMultiDataSetsAsFitPathsMultiDataSetDoes() throws Exception
    {
        final List<MultiDataSet> batches = ExportedBatches.unevenMulti(examples(197, 5));
        final List<String> files = ExportedBatches.saveMulti(batches, dir.resolve("mds"));
        final Path json = Files.writeString(dir.resolve("graph.json"), graph().toJson());
        final Path metrics = dir.resolve("metrics.jsonl");
        assertEquals(0, JOB.train(dir, "--model", json.toString(), "--format", "exported-multi", "--train",
            dir.resolve("mds").toString(), "--workers", "2", "--batch-size", "8", "--epochs", "2", "--metrics",
            metrics.toString()));

        final ComputationGraph direct = new ComputationGraph(ComputationGraphConfiguration.fromJson(
            Files.readString(json)));
        direct.init();
        new DataParallelTrainer(JOB.sc(), TrainerConfig.builder().workers(2).batchSizePerWorker(8).epochs(2)
            .ompThreadsPerWorker(1).build()).fitPathsMultiDataSet(direct, JOB.sc().parallelize(files, 2));
        final ComputationGraph saved = ModelSerializer.restoreComputationGraph(dir.resolve("model.zip").toFile(),
            true);
        RawBits.assertSameBits(direct.params(), saved.params(),
            "the job's graph on exported MultiDataSets against DataParallelTrainer.fitPathsMultiDataSet");
        RawBits.assertSameBits(direct.getUpdater().getStateViewArray(), saved.getUpdater().getStateViewArray(),
            "the job's graph's updater state against DataParallelTrainer.fitPathsMultiDataSet");
        assertEquals(2 * 13, saved.getIterationCount(), "2 epochs of 13 steps of 16 examples (the last of 5)");
        assertEquals(direct.getIterationCount(), saved.getIterationCount());
        final String out = JOB.out();
        final String files8 = "8 exported MultiDataSet files in " + dir.resolve("mds");
        assertTrue(out.contains("data: 197 training examples (" + files8 + "), 197 test examples (" + files8 +
            " (no --test: training data)), inputs [a: 4, b: 3], outputs [class: 3, value: 2]\n"), out);

        // each output as DL4J's own ComputationGraph.evaluate counts it in one process, on the test (= training) files
        final Map<Integer, IEvaluation[]> expected = Map.of(0, new IEvaluation[] {new Evaluation(CLASSES)},
            1, new IEvaluation[] {new RegressionEvaluation(VALUES)});
        for (final MultiDataSet batch : batches)
        {
            saved.evaluate(new SingletonMultiDataSetIterator(batch), expected);
        }
        final Evaluation classes = (Evaluation)expected.get(0)[0];
        final RegressionEvaluation values = (RegressionEvaluation)expected.get(1)[0];
        assertEquals(197, classes.getNumRowCounter(), 0.0);
        final String[] lines = out.split("\n");
        assertEquals("test: " + files8 + " (no --test: training data)", lines[lines.length - 3], out);
        assertEquals(String.format(Locale.ROOT, "output class: accuracy=%.4f precision=%.4f recall=%.4f f1=%.4f",
            classes.accuracy(), classes.precision(), classes.recall(), classes.f1()), lines[lines.length - 2], out);
        // the regression's sums are merged over partitions in another order than one process adds them: 6 digits
        assertFigures("output value: mse=%s mae=%s rmse=%s r2=%s (mean of 2 columns)", lines[lines.length - 1],
            values.averageMeanSquaredError(), values.averageMeanAbsoluteError(), values.averagerootMeanSquaredError(),
            values.averageRSquared());
        assertFalse(out.contains("\naccuracy="), "no accuracy= line: no one output's accuracy is the model's\n" + out);

        final List<String> written = Files.readAllLines(metrics).stream()
            .filter(line -> line.contains("\"type\":\"output_evaluation\"")).toList();
        assertEquals(2, written.size(), String.join("\n", written));
        assertEquals(String.format(Locale.ROOT, "{\"type\":\"output_evaluation\",\"output\":\"class\"," +
            "\"accuracy\":%.6f,\"precision\":%.6f,\"recall\":%.6f,\"f1\":%.6f}", classes.accuracy(),
            classes.precision(), classes.recall(), classes.f1()), written.get(0));
        assertFigures("{\"type\":\"output_evaluation\",\"output\":\"value\",\"mse\":%s,\"mae\":%s," +
            "\"rmse\":%s,\"r2\":%s}", written.get(1), values.averageMeanSquaredError(),
            values.averageMeanAbsoluteError(), values.averagerootMeanSquaredError(), values.averageRSquared());
        // the chart reader takes its steps and no accuracy from the per-output lines
        final MetricsLog log = MetricsLog.read(metrics);
        assertEquals(2 * 13, log.steps().size());
        assertEquals(List.of(), log.evaluations());
    }

    /**
     * {@code line} is {@code template} with each %s a number within 1e-5 (relative) of the figure in that place
     * (printed to 6 significant digits).
     */
    private static void assertFigures(final String template, final String line, final double... figures)
    {
        final Matcher m = Pattern.compile(Pattern.quote(template).replace("%s", "\\E([-+0-9.eE]+|NaN)\\Q"))
            .matcher(line);
        assertTrue(m.matches(), "expected " + template + ", got " + line);
        for (int i = 0; i < figures.length; i++)
        {
            final double printed = Double.parseDouble(m.group(i + 1));
            assertEquals(figures[i], printed, 1e-5 * Math.max(1e-3, Math.abs(figures[i])),
                "figure " + (i + 1) + " of " + line);
        }
    }

    /** A graph with two inputs and one output is evaluated on the MultiDataSets (evaluateMultiDataSet). */
    @Test
    void aOneOutputGraphIsEvaluatedOnTheMultiDataSets() throws Exception
    {
        final List<MultiDataSet> batches = new ArrayList<>();
        for (final MultiDataSet batch : ExportedBatches.unevenMulti(examples(197, 9)))
        {
            batches.add(new org.nd4j.linalg.dataset.MultiDataSet(batch.getFeatures(), new INDArray[] {
                batch.getLabels(0)}));
        }
        final List<String> files = ExportedBatches.saveMulti(batches, dir.resolve("mds"));
        final Path json = Files.writeString(dir.resolve("graph.json"), oneOutputGraph().toJson());
        assertEquals(0, JOB.train(dir, "--model", json.toString(), "--format", "exported-multi", "--train",
            dir.resolve("mds").toString(), "--workers", "2", "--batch-size", "8", "--epochs", "1"));
        final ComputationGraph saved = ModelSerializer.restoreComputationGraph(dir.resolve("model.zip").toFile(),
            true);
        assertEquals(1, saved.getNumOutputArrays());
        final double accuracy = new DataParallelTrainer(JOB.sc(), TrainerConfig.builder().workers(2)
            .batchSizePerWorker(8).epochs(1).ompThreadsPerWorker(1).build())
            .evaluateMultiDataSet(saved, JOB.sc().parallelize(batches, 2)).accuracy();
        assertTrue(JOB.out().endsWith(String.format(Locale.ROOT, "accuracy=%.4f%n", accuracy)), JOB.out());
    }

    /**
     * A graph with an output that is no classifier, binary output or regression still trains; its evaluation is
     * skipped with the output and the reason, decided before any Spark job (no trainer is needed to decide it).
     */
    @Test
    void aGraphWithAnOutputThatCannotBeEvaluatedSaysWhichAndWhy()
    {
        final ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder().seed(11)
            .dataType(DataType.FLOAT).graphBuilder()
            .addInputs("a")
            .addLayer("class", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(A).nOut(CLASSES)
                .activation(Activation.SOFTMAX).build(), "a")
            .addLayer("hinge", new OutputLayer.Builder(LossFunctions.LossFunction.HINGE).nIn(A).nOut(2)
                .activation(Activation.IDENTITY).build(), "a")
            .setOutputs("class", "hinge")
            .build();
        final TestReport report = new JobModel.Graph("graph.json", conf).evaluateMultiDataSet(null, null);
        final ByteArrayOutputStream printed = new ByteArrayOutputStream();
        report.print(new PrintStream(printed, true, StandardCharsets.UTF_8), "3 files in test");
        assertEquals("test: 3 files in test: evaluation skipped: output 'hinge' cannot be evaluated: its loss " +
            "LossHinge is not a classifier's (MCXENT or negative log-likelihood, one-hot labels), a binary " +
            "output's (XENT, 0/1 labels per column) or a regression's (MSE, L2, L1, MAE, MAPE or MSLE)\n",
            printed.toString(StandardCharsets.UTF_8));
    }

    /**
     * A binary output's evaluation (EvaluationBinary) printed and recorded as the mean over its columns of each
     * column's accuracy, precision, recall and F1, on counts worked out by hand: "flags" column 0 TP 2, FN 1, FP 1,
     * TN 1 (accuracy 3/5, precision = recall = F1 = 2/3), column 1 all 5 right (1); "flag" TP 1, FP 1, FN 1, TN 0.
     */
    @Test
    void aBinaryOutputsLineIsTheMeanOfItsColumns(@TempDir final Path dir) throws Exception
    {
        final EvaluationBinary flags = new EvaluationBinary(2, null);
        flags.eval(Nd4j.create(new float[] {1, 0, 1, 1, 0, 0, 0, 1, 1, 0}, 5, 2),
            Nd4j.create(new float[] {0.9f, 0.3f, 0.2f, 0.8f, 0.7f, 0.4f, 0.1f, 0.9f, 0.6f, 0.2f}, 5, 2));
        final EvaluationBinary flag = new EvaluationBinary(1, null);
        flag.eval(Nd4j.create(new float[] {1, 0, 1}, 3, 1), Nd4j.create(new float[] {0.8f, 0.6f, 0.3f}, 3, 1));
        final TestReport report = new TestReport.PerOutput(List.of("flags", "flag"), List.of(flags, flag));
        final ByteArrayOutputStream printed = new ByteArrayOutputStream();
        report.print(new PrintStream(printed, true, StandardCharsets.UTF_8), "test.bin");
        assertEquals("test: test.bin\n" +
            "output flags: accuracy=0.8000 precision=0.8333 recall=0.8333 f1=0.8333 (mean of 2 columns)\n" +
            "output flag: accuracy=0.3333 precision=0.5000 recall=0.5000 f1=0.5000 (mean of 1 column)\n",
            printed.toString(StandardCharsets.UTF_8));
        final Path metricsPath = dir.resolve("metrics.jsonl");
        try (MetricsFile metrics = new MetricsFile(metricsPath))
        {
            report.record(metrics);
        }
        assertEquals(List.of(
            "{\"type\":\"output_evaluation\",\"output\":\"flags\",\"accuracy\":0.800000,\"precision\":0.833333," +
                "\"recall\":0.833333,\"f1\":0.833333}",
            "{\"type\":\"output_evaluation\",\"output\":\"flag\",\"accuracy\":0.333333,\"precision\":0.500000," +
                "\"recall\":0.500000,\"f1\":0.500000}"), Files.readAllLines(metricsPath));
    }

    @Test
    void aBadMultiDataSetFileIsRefusedNamingIt() throws Exception
    {
        final Path folder = Files.createDirectory(dir.resolve("mds"));
        final List<MultiDataSet> batches = ExportedBatches.unevenMulti(examples(197, 5));
        final List<String> files = ExportedBatches.saveMulti(batches, folder);
        final Path json = Files.writeString(dir.resolve("graph.json"), graph().toJson());
        final String[] args = {"--model", json.toString(), "--format", "exported-multi", "--train",
            folder.toString()};

        final MultiDataSet good = batches.get(2);
        new org.nd4j.linalg.dataset.MultiDataSet(new INDArray[] {good.getFeatures(0)}, good.getLabels())
            .save(folder.resolve("batch-02.bin").toFile());
        JOB.assertRefused(dir,
            "exported MultiDataSet " + files.get(2) + ": 1 features arrays and 2 labels arrays, expected " +
            "2 and 2 (the graph's inputs [a, b] and outputs [class, value])", args);

        new org.nd4j.linalg.dataset.MultiDataSet(new INDArray[] {good.getFeatures(0), Nd4j.zeros(DataType.FLOAT,
            1, B + 1)}, good.getLabels()).save(folder.resolve("batch-02.bin").toFile());
        JOB.assertRefused(dir, "exported MultiDataSet " + files.get(2) + ": features 1 ('b') of shape [1, 4] have 4 " +
            "columns, expected 3 (the nIn of the layers input 'b' feeds)", args);

        final INDArray nan = good.getFeatures(1).dup();
        nan.putScalar(0, 1, Float.NaN);
        new org.nd4j.linalg.dataset.MultiDataSet(new INDArray[] {good.getFeatures(0), nan}, good.getLabels())
            .save(folder.resolve("batch-02.bin").toFile());
        JOB.assertRefused(dir,
            "exported MultiDataSet " + files.get(2) + ": features 1 ('b') hold NaN or infinite values; " +
            "features must be finite numbers", args);

        Files.writeString(folder.resolve("batch-02.bin"), "");
        JOB.assertRefused(dir, "exported MultiDataSet " + files.get(2) + ": cannot be loaded (expected a file that " +
            "MultiDataSet.save wrote): java.io.EOFException", args);

        // DL4J's own load reads text as array lengths and runs out of memory; the headers' check names the file.
        Files.writeString(folder.resolve("batch-02.bin"), "label,a0,a1,a2,b0,b1,b2\n1,0.5,0.25,0.5,0.75,1,0\n");
        JOB.assertRefused(dir, "exported MultiDataSet " + files.get(2) + ": cannot be loaded (expected a file that " +
            "MultiDataSet.save wrote): java.io.IOException: array count 1818321509 at byte 0, expected 0 to 65536 " +
            "(features, labels, features masks, labels masks)", args);
    }

    @Test
    void aMultiLayerNetworkIsRefusedWithTheWayAround() throws Exception
    {
        final Path folder = Files.createDirectory(dir.resolve("mds"));
        ExportedBatches.saveMulti(ExportedBatches.unevenMulti(examples(40, 5)), folder);
        final Path json = Files.writeString(dir.resolve("mlp.json"), ModelSource.mlp(A, new int[] {8}, CLASSES,
            new Adam(0.05), 1).toJson());
        JOB.assertRefused(dir, "--format exported-multi trains a ComputationGraph on MultiDataSets; --model " + json +
            " is a MultiLayerNetwork: export its data as DataSets (DataSet.save) and give --format exported, or " +
            "configure the model as a ComputationGraph", "--model", json.toString(), "--format", "exported-multi",
            "--train", folder.toString());
        assertTrue(JobOptions.HELP.contains("BatchAndExportMultiDataSetsFunction"), JobOptions.HELP);
    }

    @Test
    void exportedMultiOptionsThatCannotApplyAreRefused()
    {
        assertOptionRefused("invalid --plot plots: expected not with --format exported-multi (its per-epoch " +
            "evaluation reads DataSets)", "--format", "exported-multi", "--train", "x", "--plot", "plots");
        assertOptionRefused("invalid --format exported-multi: expected only with --mode data-parallel (model-split " +
            "has no fitPaths)", "--format", "exported-multi", "--train", "x", "--mode", "model-split");
        assertOptionRefused("invalid --format exported-multi: expected --train with it (the bundled data is CSV)",
            "--format", "exported-multi");
    }

    /** "a" and "b" through their own dense layers, merged, to "class" (softmax) and "value" (squared error). */
    private static ComputationGraphConfiguration graph()
    {
        return twoInputsToClass()
            .addLayer("value", new OutputLayer.Builder(LossFunctions.LossFunction.MSE).nIn(11).nOut(VALUES)
                .activation(Activation.IDENTITY).build(), "merge")
            .setOutputs("class", "value")
            .build();
    }

    /** As {@link #graph} without "value". */
    private static ComputationGraphConfiguration oneOutputGraph()
    {
        return twoInputsToClass().setOutputs("class").build();
    }

    /** {@link #graph}'s layers up to its "class" output, outputs not yet set. */
    private static ComputationGraphConfiguration.GraphBuilder twoInputsToClass()
    {
        return new NeuralNetConfiguration.Builder().seed(11).dataType(DataType.FLOAT).updater(new Adam(0.05))
            .weightInit(WeightInit.XAVIER).graphBuilder()
            .addInputs("a", "b")
            .addLayer("denseA", new DenseLayer.Builder().nIn(A).nOut(6).activation(Activation.RELU).build(), "a")
            .addLayer("denseB", new DenseLayer.Builder().nIn(B).nOut(5).activation(Activation.TANH).build(), "b")
            .addVertex("merge", new MergeVertex(), "denseA", "denseB")
            .addLayer("class", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(11).nOut(CLASSES)
                .activation(Activation.SOFTMAX).build(), "merge");
    }

    /** {@code count} one-example MultiDataSets with a learnable pattern, features multiples of 1/64. */
    private static List<MultiDataSet> examples(final int count, final long seed)
    {
        final Random random = new Random(seed);
        final List<MultiDataSet> examples = new ArrayList<>();
        for (int i = 0; i < count; i++)
        {
            final float[] a = new float[A];
            final float[] b = new float[B];
            for (int f = 0; f < A; f++)
            {
                a[f] = random.nextInt(65) / 64f;
            }
            for (int f = 0; f < B; f++)
            {
                b[f] = random.nextInt(65) / 64f;
            }
            final float[] y = new float[CLASSES];
            y[a[0] > b[0] ? 0 : a[1] > b[1] ? 1 : 2] = 1;
            examples.add(new org.nd4j.linalg.dataset.MultiDataSet(
                new INDArray[] {Nd4j.create(a, 1, A), Nd4j.create(b, 1, B)},
                new INDArray[] {Nd4j.create(y, 1, CLASSES), Nd4j.create(new float[] {a[2] + b[2], a[3] - b[1]}, 1,
                    VALUES)}));
        }
        return examples;
    }
}
