package io.paratrain.sparktrainer.job;

import io.paratrain.sparktrainer.ExportedBatches;
import io.paratrain.sparktrainer.DataParallelTrainer;
import io.paratrain.sparktrainer.RawBits;
import io.paratrain.sparktrainer.ReversedListingFileSystem;
import io.paratrain.sparktrainer.TrainerConfig;
import io.paratrain.sparktrainer.exceptions.TrainingInputException;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;

import static io.paratrain.sparktrainer.job.InProcessJob.assertOptionRefused;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The job with a ComputationGraph JSON model and with exported DataSet files ({@code --format exported}): each
 * trains exactly as the trainer's own entry point does on the same examples (raw bits of parameters and updater
 * state), and a model or file the job cannot take is refused naming it and what was expected.
 */
@Timeout(300)
class GraphAndExportedJobTest
{
    private static final int FEATURES = 4;
    private static final int CLASSES = 3;
    @RegisterExtension
    static final InProcessJob JOB = new InProcessJob();

    @TempDir
    Path dir;

    @Test
    void aGraphJsonTrainsAsTheTrainerDoesAndIsWrittenAsARestorableGraph() throws Exception
    {
        final List<DataSet> train = examples(120, 1);
        final List<DataSet> test = examples(40, 2);
        final Path json = Files.writeString(dir.resolve("graph.json"), graph(FEATURES).toJson());
        assertEquals(0, JOB.train(dir, "--model", json.toString(), "--train", csv("train.csv", train).toString(),
            "--test", csv("test.csv", test).toString(), "--workers", "2", "--batch-size", "8", "--epochs", "2"));

        final ComputationGraph direct = new ComputationGraph(ComputationGraphConfiguration.fromJson(
            Files.readString(json)));
        direct.init();
        final DataParallelTrainer trainer = new DataParallelTrainer(JOB.sc(), config());
        trainer.fit(direct, JOB.sc().parallelize(train, 2));
        final ComputationGraph saved = ModelSerializer.restoreComputationGraph(dir.resolve("model.zip").toFile(),
            true);
        RawBits.assertSameBits(direct.params(), saved.params(), "the job's graph against DataParallelTrainer.fit");
        RawBits.assertSameBits(direct.getUpdater().getStateViewArray(), saved.getUpdater().getStateViewArray(),
            "the job's graph's updater state against DataParallelTrainer.fit");
        assertEquals(2 * 8, saved.getIterationCount(), "2 epochs of 8 steps of 16 examples (the last of 8)");
        assertEquals(direct.getIterationCount(), saved.getIterationCount());
        final String out = JOB.out();
        assertTrue(out.contains("data: 120 training examples (" + dir.resolve("train.csv") + "), 40 test examples (" +
            dir.resolve("test.csv") + "), 4 features, 3 classes\n"), out);
        assertTrue(out.contains("model: " + json + ", " + direct.numParams() + " parameters; 2 workers x batch 8"),
            out);
        final double accuracy = trainer.evaluate(direct, JOB.sc().parallelize(test, 2)).accuracy();
        assertTrue(out.endsWith(String.format(Locale.ROOT, "accuracy=%.4f%n", accuracy)), out);
    }

    @Test
    void aGraphTrainsOnExportedFilesAsTheGraphsFitPathsDoes() throws Exception
    {
        final List<DataSet> trainBatches = ExportedBatches.uneven(examples(197, 5));
        final List<String> trainFiles = ExportedBatches.save(trainBatches, dir.resolve("train"));
        final Path json = Files.writeString(dir.resolve("graph.json"), graph(FEATURES).toJson());
        assertEquals(0, JOB.train(dir, "--model", json.toString(), "--format", "exported", "--train",
            dir.resolve("train").toString(), "--workers", "2", "--batch-size", "8", "--epochs", "2"));

        final ComputationGraph direct = new ComputationGraph(ComputationGraphConfiguration.fromJson(
            Files.readString(json)));
        direct.init();
        new DataParallelTrainer(JOB.sc(), config()).fitPaths(direct, JOB.sc().parallelize(trainFiles, 2));
        final ComputationGraph saved = ModelSerializer.restoreComputationGraph(dir.resolve("model.zip").toFile(),
            true);
        RawBits.assertSameBits(direct.params(), saved.params(),
            "the job's graph on exported files against DataParallelTrainer.fitPaths(ComputationGraph)");
        RawBits.assertSameBits(direct.getUpdater().getStateViewArray(), saved.getUpdater().getStateViewArray(),
            "the job's graph's updater state on exported files against DataParallelTrainer.fitPaths");
        assertEquals(direct.getIterationCount(), saved.getIterationCount());
        assertTrue(saved.getIterationCount() > 0, "the graph trained");
    }

    @Test
    void exportedFilesTrainAsFitPathsDoesInNameOrderSkippingMarkerFiles() throws Exception
    {
        final List<DataSet> trainBatches = ExportedBatches.uneven(examples(197, 3));
        final List<DataSet> testBatches = ExportedBatches.uneven(examples(197, 4)).subList(0, 3);
        final List<String> trainFiles = ExportedBatches.save(trainBatches, dir.resolve("train"));
        ExportedBatches.save(testBatches, dir.resolve("test"));
        Files.writeString(dir.resolve("train/_SUCCESS"), "");
        Files.writeString(dir.resolve("train/.batch-00.bin.crc"), "not a DataSet");
        final Path json = Files.writeString(dir.resolve("mlp.json"), mlp(FEATURES).toJson());

        // The reversed file system lists the folder in reverse name order: the job must sort it.
        JOB.sc().hadoopConfiguration().set("fs." + ReversedListingFileSystem.SCHEME + ".impl",
            ReversedListingFileSystem.class.getName());
        try
        {
            assertEquals(0, JOB.train(dir, "--model", json.toString(), "--format", "exported", "--train",
                ReversedListingFileSystem.SCHEME + ":" + dir.resolve("train"), "--test", dir.resolve("test")
                    .toString(), "--workers", "2", "--batch-size", "8", "--epochs", "2"));
        }
        finally
        {
            JOB.sc().hadoopConfiguration().unset("fs." + ReversedListingFileSystem.SCHEME + ".impl");
        }

        final MultiLayerNetwork direct = new MultiLayerNetwork(MultiLayerConfiguration.fromJson(
            Files.readString(json)));
        direct.init();
        final DataParallelTrainer trainer = new DataParallelTrainer(JOB.sc(), config());
        trainer.fitPaths(direct, JOB.sc().parallelize(trainFiles, 2));
        final MultiLayerNetwork saved = ModelSerializer.restoreMultiLayerNetwork(dir.resolve("model.zip").toFile(),
            true);
        RawBits.assertSameModel(direct, saved, "the job on exported files against DataParallelTrainer.fitPaths");
        assertEquals(2 * 13, saved.getIterationCount(), "2 epochs of 13 steps of 16 examples (the last of 5)");
        final String out = JOB.out();
        assertTrue(out.contains("data: 197 training examples (8 exported DataSet files in " +
            ReversedListingFileSystem.SCHEME + ":" + dir.resolve("train") + "), 38 test examples (3 exported " +
            "DataSet files in " + dir.resolve("test") + "), 4 features, 3 classes\n"), out);
        final double accuracy = trainer.evaluate(direct, JOB.sc().parallelize(testBatches, 2)).accuracy();
        assertTrue(out.endsWith(String.format(Locale.ROOT, "accuracy=%.4f%n", accuracy)), out);

        // --plot trains one epoch per fitPaths: the same model.
        Files.delete(dir.resolve("model.zip"));
        assertEquals(0, JOB.train(dir, "--model", json.toString(), "--format", "exported", "--train",
            dir.resolve("train").toString(), "--workers", "2", "--batch-size", "8", "--epochs", "2", "--plot",
            dir.resolve("plots").toString()));
        RawBits.assertSameModel(direct, ModelSerializer.restoreMultiLayerNetwork(dir.resolve("model.zip").toFile(),
            true), "the job on exported files with --plot against DataParallelTrainer.fitPaths");
        assertTrue(JOB.out().contains("plots: " + dir.resolve("plots").resolve("loss.png")), JOB.out());
    }

    @Test
    void anExportedFileThatIsBadIsRefusedNamingIt() throws Exception
    {
        final Path folder = Files.createDirectory(dir.resolve("exported"));
        final List<String> files = ExportedBatches.save(ExportedBatches.uneven(examples(197, 5)), folder);
        final Path json = Files.writeString(dir.resolve("mlp.json"), mlp(FEATURES).toJson());
        final String[] args = {"--model", json.toString(), "--format", "exported", "--train", folder.toString()};

        Files.writeString(folder.resolve("batch-03.bin"), "0.5,0.25,1\n0.75,0.5,0\n");
        JOB.assertRefused(dir, "exported DataSet " + files.get(3) + ": cannot be loaded (expected a file that " +
            "DataSet.save wrote): java.io.EOFException", args);

        final DataSet wide = new DataSet(Nd4j.rand(DataType.FLOAT, 7, FEATURES + 1),
            Nd4j.eye(CLASSES).getRows(0, 1, 2, 0, 1, 2, 0).castTo(DataType.FLOAT));
        wide.save(folder.resolve("batch-03.bin").toFile());
        JOB.assertRefused(dir,
            "exported DataSet " + files.get(3) + ": features of shape [7, 5] have 5 columns, expected 4 " +
            "(the model's nIn)", args);

        final DataSet fewClasses = new DataSet(Nd4j.rand(DataType.FLOAT, 7, FEATURES),
            Nd4j.zeros(DataType.FLOAT, 7, 2));
        fewClasses.save(folder.resolve("batch-05.bin").toFile());
        JOB.assertRefused(dir,
            "exported DataSet " + files.get(3) + ": features of shape [7, 5] have 5 columns, expected 4 " +
            "(the model's nIn)", args); // the first bad file in training order
        Files.delete(folder.resolve("batch-03.bin"));
        JOB.assertRefused(dir,
            "exported DataSet " + files.get(5) + ": labels of shape [7, 2] have 2 columns, expected 3 " +
            "(the model's output layer has 3 classes)", args);

        final float[] values = Nd4j.rand(DataType.FLOAT, 7, FEATURES).data().asFloat();
        values[9] = Float.NaN;
        new DataSet(Nd4j.create(values, new long[] {7, FEATURES}, 'c'), Nd4j.zeros(DataType.FLOAT, 7, CLASSES))
            .save(folder.resolve("batch-05.bin").toFile());
        JOB.assertRefused(dir,
            "exported DataSet " + files.get(5) + ": features hold NaN or infinite values; features must " +
            "be finite numbers", args);

        Files.createDirectory(folder.resolve("more"));
        JOB.assertRefused(dir,
            "--train " + "file:" + folder + " holds the folder more: exported DataSets are read from the " +
            "files directly in the folder; give the subfolder as a path of its own (comma-separated) or move its " +
            "files", args);
        JOB.assertRefused(dir,
            "--train " + dir.resolve("more") + "*: no such file or folder (file:" + dir.resolve("more") +
            "*)", "--model", json.toString(), "--format", "exported", "--train", dir.resolve("more") + "*");
    }

    @Test
    void aModelJsonOfNeitherKindIsRefusedNamingTheFileAndWhatWasExpected() throws Exception
    {
        final String expected = " is not a DL4J MultiLayerConfiguration or ComputationGraphConfiguration JSON " +
            "file (what their toJson() writes): ";
        final Path other = Files.writeString(dir.resolve("other.json"), "{\"layers\": [], \"seed\": 1}");
        JOB.assertRefused(dir, "--model " + other + expected + "expected a JSON object with a \"confs\" field " +
            "(MultiLayerConfiguration) or a \"vertices\" field (ComputationGraphConfiguration), found an object " +
            "with the fields [layers, seed]", "--model", other.toString());
        final Path array = Files.writeString(dir.resolve("array.json"), "[1, 2]");
        JOB.assertRefused(dir, "--model " + array + expected + "expected a JSON object with a \"confs\" field " +
            "(MultiLayerConfiguration) or a \"vertices\" field (ComputationGraphConfiguration), found a JSON array",
            "--model", array.toString());
        final Path text = Files.writeString(dir.resolve("model.txt"), "dense 4 8 relu\n");
        JOB.assertRefused(dir,
            "--model " + text + expected + "it is not JSON: Unrecognized token 'dense': was expecting " +
            "(JSON String, Number, Array, Object or token 'null', 'true' or 'false')", "--model", text.toString());
        final Path badGraph = Files.writeString(dir.resolve("bad-graph.json"),
            "{\"vertices\": {\"out\": {\"@class\": \"no.such.Vertex\"}}}");
        final TrainingInputException graphError = assertThrows(TrainingInputException.class,
            () -> JOB.train(dir, "--model", badGraph.toString()));
        assertTrue(graphError.getMessage().startsWith("--model " + badGraph + " has the \"vertices\" of a " +
            "ComputationGraphConfiguration JSON but DL4J cannot read it: "), graphError.getMessage());
    }

    @Test
    void aGraphTheDataCannotFeedIsRefused() throws Exception
    {
        final Path json = Files.writeString(dir.resolve("graph.json"), graph(FEATURES).toJson());
        final Path wide = Files.writeString(dir.resolve("wide.csv"), "1,0.5,0.25,0.5,0.75,1\n");
        JOB.assertRefused(dir,
            "file:" + wide + " line 1: expected 1 label and 4 features = 5 comma-separated fields (the " +
            "model's nIn is 4), found 6", "--model", json.toString(), "--train", wide.toString());

        final Path twoInputs = Files.writeString(dir.resolve("two-inputs.json"), new NeuralNetConfiguration.Builder()
            .graphBuilder().addInputs("a", "b")
            .addLayer("out", output(8), "a", "b").setOutputs("out").build().toJson());
        JOB.assertRefused(dir,
            "--model " + twoInputs + ": the job feeds a ComputationGraph DataSets of one features array " +
            "and one labels array, so it needs one input and one output; this graph has inputs [a, b] and outputs " +
            "[out]", "--model", twoInputs.toString());

        final Path throughVertex = Files.writeString(dir.resolve("vertex.json"), new NeuralNetConfiguration.Builder()
            .graphBuilder().addInputs("in")
            .addVertex("sum", new ElementWiseVertex(ElementWiseVertex.Op.Add), "in", "in")
            .addLayer("out", output(4), "sum").setOutputs("out").build().toJson());
        JOB.assertRefused(dir,
            "--model " + throughVertex + ": the job takes the number of features from the nIn of the " +
            "layers the graph's input 'in' feeds directly, but it feeds 'sum' (ElementWiseVertex); expected a " +
            "feed-forward layer (dense, output, ...) with nIn and no input preprocessor",
            "--model", throughVertex.toString());

        final Path csv = Files.writeString(dir.resolve("train.csv"), "1,0.5,0.25,0.5,0.75\n");
        JOB.assertRefused(dir, "--mode model-split cuts the layers of a MultiLayerNetwork; --model " + json + " is a " +
            "ComputationGraph: train it with --mode data-parallel",
            "--model", json.toString(), "--mode", "model-split", "--train", csv.toString());
    }

    @Test
    void exportedOptionsThatCannotApplyAreRefused()
    {
        assertOptionRefused("invalid --feature-scale 0.5: expected not with --format exported (exported DataSets " +
            "train as saved)", "--format", "exported", "--train", "x", "--feature-scale", "0.5");
        assertOptionRefused("invalid --format exported: expected only with --mode data-parallel (model-split has " +
            "no fitPaths)", "--format", "exported", "--train", "x", "--mode", "model-split");
        assertOptionRefused("invalid --format exported: expected --train with it (the bundled data is CSV)",
            "--format", "exported");
        assertTrue(JobOptions.HELP.contains("BatchAndExportDataSetsFunction"), JobOptions.HELP);
    }

    /** The trainer's settings the job uses for --workers 2 --batch-size 8 --epochs 2 on local Spark. */
    private static TrainerConfig config()
    {
        return TrainerConfig.builder().workers(2).batchSizePerWorker(8).epochs(2).ompThreadsPerWorker(1).build();
    }

    /**
     * Two dense layers fed by the input, summed (ElementWiseVertex), then softmax: the input's width comes from two
     * layers that agree.
     */
    private static ComputationGraphConfiguration graph(final int features)
    {
        return new NeuralNetConfiguration.Builder().seed(7).dataType(DataType.FLOAT).updater(new Adam(0.05))
            .weightInit(WeightInit.XAVIER).graphBuilder()
            .addInputs("in")
            .addLayer("relu", new DenseLayer.Builder().nIn(features).nOut(8).activation(Activation.RELU).build(), "in")
            .addLayer("tanh", new DenseLayer.Builder().nIn(features).nOut(8).activation(Activation.TANH).build(), "in")
            .addVertex("sum", new ElementWiseVertex(ElementWiseVertex.Op.Add), "relu", "tanh")
            .addLayer("out", output(8), "sum")
            .setOutputs("out")
            .build();
    }

    private static MultiLayerConfiguration mlp(final int features)
    {
        return ModelSource.mlp(features, new int[] {8}, CLASSES, new Adam(0.05), 1);
    }

    private static OutputLayer output(final int in)
    {
        return new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(in).nOut(CLASSES)
            .activation(Activation.SOFTMAX).build();
    }

    /**
     * {@code count} one-example DataSets, features multiples of 1/64 (exact in float and in CSV text), the label the
     * index of the largest of the first three.
     */
    private static List<DataSet> examples(final int count, final long seed)
    {
        final Random random = new Random(seed);
        final List<DataSet> examples = new ArrayList<>();
        for (int i = 0; i < count; i++)
        {
            final float[] x = new float[FEATURES];
            for (int f = 0; f < FEATURES; f++)
            {
                x[f] = random.nextInt(65) / 64f;
            }
            final int label = x[0] > x[1] && x[0] > x[2] ? 0 : x[1] > x[2] ? 1 : 2;
            final float[] y = new float[CLASSES];
            y[label] = 1;
            examples.add(new DataSet(Nd4j.create(x, 1, FEATURES), Nd4j.create(y, 1, CLASSES)));
        }
        return examples;
    }

    private Path csv(final String name, final List<DataSet> examples) throws Exception
    {
        final StringBuilder text = new StringBuilder();
        for (final DataSet example : examples)
        {
            text.append(example.getLabels().argMax(1).getInt(0));
            for (final float x : example.getFeatures().toFloatVector())
            {
                text.append(',').append(x);
            }
            text.append('\n');
        }
        return Files.writeString(dir.resolve(name), text);
    }
}
