package io.paratrain.sparktrainer;

import io.paratrain.sparktrainer.job.JobOptions;
import io.paratrain.sparktrainer.job.ModelSource;
import io.paratrain.sparktrainer.job.TrainJob;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.apache.spark.ml.linalg.VectorUDT;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.learning.config.Adam;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The job end to end on local Spark: a good run, and every kind of bad input refused before training. */
@ExtendWith(NothingLeftBehind.class)
@Timeout(300)
class TrainJobTest
{
    @TempDir
    Path dir;

    private String out;
    private String err;

    private int run(final String... args)
    {
        return runOn("local[3]", args);
    }

    /** Runs the job on {@code master} (e.g. {@code local[2,4]}: 2 slots, 4 attempts per task as on a cluster). */
    private int runOn(final String master, final String... args)
    {
        final ByteArrayOutputStream stdout = new ByteArrayOutputStream();
        final ByteArrayOutputStream stderr = new ByteArrayOutputStream();
        final List<String> all = new ArrayList<>(List.of(args));
        all.addAll(List.of("--master", master, "--output", dir.resolve("model.zip").toString(),
            "--metrics", dir.resolve("metrics.jsonl").toString()));
        final int code = TrainJob.run(all.toArray(String[]::new), new PrintStream(stdout, true, StandardCharsets.UTF_8),
            new PrintStream(stderr, true, StandardCharsets.UTF_8));
        out = stdout.toString(StandardCharsets.UTF_8);
        err = stderr.toString(StandardCharsets.UTF_8);
        return code;
    }

    /** A 4-feature, 3-class model as a DL4J JSON file. */
    private Path model() throws Exception
    {
        return model(false);
    }

    /** The job's small test MLP, with dropout (keep 0.8) on its hidden layer's input when asked. */
    private Path model(final boolean dropout) throws Exception
    {
        final Path file = dir.resolve("model.json");
        final org.deeplearning4j.nn.conf.MultiLayerConfiguration conf =
            ModelSource.mlp(4, new int[] {8}, 3, new Adam(0.05), 1);
        if (dropout)
        {
            conf.getConf(0).getLayer().setIDropout(new org.deeplearning4j.nn.conf.dropout.Dropout(0.8));
        }
        Files.writeString(file, conf.toJson());
        return file;
    }

    /** {@code rows} separable examples: the label is the index of the largest of the first three features. */
    private Path csv(final String name, final int rows) throws Exception
    {
        final Random random = new Random(rows);
        final StringBuilder text = new StringBuilder();
        for (int r = 0; r < rows; r++)
        {
            final double[] x = {random.nextDouble(), random.nextDouble(), random.nextDouble(), random.nextDouble()};
            final int label = x[0] > x[1] && x[0] > x[2] ? 0 : x[1] > x[2] ? 1 : 2;
            text.append(label).append(',').append(x[0]).append(',').append(x[1]).append(',').append(x[2])
                .append(',').append(x[3]).append('\n');
        }
        final Path file = dir.resolve(name);
        Files.writeString(file, text);
        return file;
    }

    private void assertRefusedWithNothingWritten(final int code, final String expectedMessage)
    {
        assertEquals(2, code, "exit code; stderr: " + err);
        assertTrue(err.contains(expectedMessage), "stderr should contain '" + expectedMessage + "' but was: " + err);
        assertFalse(Files.exists(dir.resolve("model.zip")), "no model written");
        assertFalse(Files.exists(dir.resolve("metrics.jsonl")), "no metrics written");
        assertFalse(out.contains("accuracy="), out);
    }

    @Test
    void trainsEvaluatesAndWritesTheModelAndMetrics() throws Exception
    {
        final int code = run("--model", model().toString(), "--train", csv("train.csv", 600).toString(),
            "--test", csv("test.csv", 200).toString(), "--workers", "3", "--batch-size", "8", "--epochs", "4");
        assertEquals(0, code, err);
        assertTrue(out.startsWith("spark: master local[3]: local mode, every task runs in this JVM (3 task slots); " +
            "give spark-submit --master or --master to train on a cluster\n"), out);
        assertFalse(err.contains("warning:"), "features in [0, 1] get no --feature-scale warning: " + err);
        final String[] lines = out.trim().split("\n");
        final String last = lines[lines.length - 1];
        assertTrue(last.matches("accuracy=\\d\\.\\d{4}"), last);
        assertTrue(Double.parseDouble(last.substring("accuracy=".length())) > 0.8, last);
        final MultiLayerNetwork saved = ModelSerializer.restoreMultiLayerNetwork(dir.resolve("model.zip").toFile());
        assertEquals(4 * 8 + 8 + 8 * 3 + 3, saved.numParams());
        assertEquals(4 * 25, saved.getIterationCount(), "4 epochs of 25 steps of 24 examples");
        final List<String> metrics = Files.readAllLines(dir.resolve("metrics.jsonl"));
        assertEquals(100, metrics.stream().filter(l -> l.startsWith("{\"type\":\"step\"")).count());
        assertEquals(4, metrics.stream().filter(l -> l.startsWith("{\"type\":\"epoch\"")).count());
        assertEquals("{\"type\":\"channel\",\"authenticated\":false,\"rejected_mac_frames\":0," +
            "\"foreign_session_frames\":0}", metrics.get(metrics.size() - 2));
        assertTrue(out.contains("gradient channel: not HMAC-checked, 0 frame(s) rejected (bad MAC), 0 dropped " +
            "(foreign session)"), out);
        assertTrue(metrics.get(metrics.size() - 1).startsWith("{\"type\":\"evaluation\",\"accuracy\":"));
        try (var files = Files.list(dir))
        {
            assertEquals(List.of(), files.map(p -> p.getFileName().toString())
                .filter(name -> name.contains(".tmp-") || name.endsWith(".crc")).toList(), "temp or checksum files");
        }
    }

    /**
     * With dropout the per-epoch fits must also draw the same random masks as one 3-epoch fit: each replica seeds
     * its generator per epoch, from the model's seed, its rank and the network's epoch counter.
     */
    @ParameterizedTest(name = "dropout {0}")
    @ValueSource(booleans = {false, true})
    void plotWritesChartsAndEvaluatesEveryEpochWithoutChangingTheResult(final boolean dropout) throws Exception
    {
        final String[] common = {"--model", model(dropout).toString(), "--train", csv("train.csv", 300).toString(),
            "--test", csv("test.csv", 100).toString(), "--workers", "2", "--batch-size", "10", "--epochs", "3"};
        assertEquals(0, run(common), err);
        final MultiLayerNetwork once = ModelSerializer.restoreMultiLayerNetwork(dir.resolve("model.zip").toFile());

        final Path plots = dir.resolve("plots");
        final List<String> withPlot = new ArrayList<>(List.of(common));
        withPlot.addAll(List.of("--plot", plots.toString()));
        assertEquals(0, run(withPlot.toArray(String[]::new)), err);
        final MultiLayerNetwork epochByEpoch = ModelSerializer.restoreMultiLayerNetwork(
            dir.resolve("model.zip").toFile());
        RawBits.assertSameBits(once.params(), epochByEpoch.params(),
            "one fit per epoch must train exactly as one 3-epoch fit");
        assertEquals(45, epochByEpoch.getIterationCount(), "3 epochs of 15 steps of 20 examples");
        assertTrue(out.contains("plots: " + plots.resolve("loss.png")), out);

        final List<String> metrics = Files.readAllLines(dir.resolve("metrics.jsonl"));
        assertEquals(45, metrics.stream().filter(l -> l.startsWith("{\"type\":\"step\"")).count());
        assertTrue(metrics.stream().anyMatch(l -> l.startsWith("{\"type\":\"step\",\"epoch\":2,\"step\":14," +
            "\"global_step\":44,")), "global steps continue across the per-epoch fits");
        assertEquals(List.of(15L, 30L, 45L), metrics.stream().filter(l -> l.startsWith("{\"type\":\"evaluation\""))
            .map(l -> Long.parseLong(l.replaceAll(".*\"global_step\":(\\d+).*", "$1"))).toList());
        for (final String chart : List.of("loss.png", "throughput.png", "accuracy.png"))
        {
            final java.awt.image.BufferedImage image = javax.imageio.ImageIO.read(plots.resolve(chart).toFile());
            assertEquals(720, image.getWidth(), chart);
            assertEquals(400, image.getHeight(), chart);
        }
    }

    @Test
    void plotIsRefusedInModelSplitMode()
    {
        assertRefusedWithNothingWritten(run("--mode", "model-split", "--plot", dir.resolve("p").toString()),
            "invalid --plot " + dir.resolve("p") + ": expected only with --mode data-parallel");
    }

    @Test
    void parquetWithAVectorColumnTrainsAndAWrongVectorSizeIsRefused() throws Exception
    {
        final Path good = dir.resolve("train.parquet");
        final Path wide = dir.resolve("wide.parquet");
        final org.apache.spark.sql.SparkSession spark = org.apache.spark.sql.SparkSession.builder()
            .master("local[1]").appName("write-parquet").config("spark.ui.enabled", "false")
            .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1").getOrCreate();
        try
        {
            final org.apache.spark.sql.types.StructType schema = new org.apache.spark.sql.types.StructType()
                .add("label", org.apache.spark.sql.types.DataTypes.IntegerType)
                .add("features", new org.apache.spark.ml.linalg.VectorUDT());
            final List<org.apache.spark.sql.Row> rows = new ArrayList<>();
            final List<org.apache.spark.sql.Row> wideRows = new ArrayList<>();
            for (final String line : Files.readAllLines(csv("source.csv", 300)))
            {
                final String[] f = line.split(",");
                final double[] x = {Double.parseDouble(f[1]), Double.parseDouble(f[2]), Double.parseDouble(f[3]),
                    Double.parseDouble(f[4])};
                rows.add(org.apache.spark.sql.RowFactory.create(Integer.parseInt(f[0]),
                    org.apache.spark.ml.linalg.Vectors.dense(x)));
                wideRows.add(org.apache.spark.sql.RowFactory.create(Integer.parseInt(f[0]),
                    org.apache.spark.ml.linalg.Vectors.dense(x[0], x[1], x[2], x[3], 0.5)));
            }
            spark.createDataFrame(rows, schema).coalesce(1).write().parquet(good.toString());
            spark.createDataFrame(wideRows, schema).coalesce(1).write().parquet(wide.toString());
        }
        finally
        {
            spark.stop();
            org.apache.spark.sql.SparkSession.clearActiveSession();
            org.apache.spark.sql.SparkSession.clearDefaultSession();
        }
        assertEquals(0, run("--model", model().toString(), "--train", good.toString(), "--workers", "2",
            "--batch-size", "10", "--epochs", "3"), err);
        final String last = out.trim().substring(out.trim().lastIndexOf('\n') + 1);
        assertTrue(last.matches("accuracy=\\d\\.\\d{4}") &&
            Double.parseDouble(last.substring("accuracy=".length())) > 0.6, last);
        assertTrue(out.contains("300 training examples"), out);
        Files.delete(dir.resolve("model.zip"));
        Files.delete(dir.resolve("metrics.jsonl"));
        assertRefusedWithNothingWritten(run("--model", model().toString(), "--train", wide.toString()),
            "row 1: features vector has 5 elements, the model's nIn is 4");
    }

    @Test
    void aFeatureCountThatDoesNotMatchTheModelIsRefused() throws Exception
    {
        final Path data = dir.resolve("wide.csv");
        Files.writeString(data, "1,0.1,0.2,0.3,0.4\n2,0.1,0.2,0.3,0.4,0.5\n");
        assertRefusedWithNothingWritten(run("--model", model().toString(), "--train", data.toString()),
            "file:" + data + " line 2: expected 1 label and 4 features = 5 comma-separated fields (the model's nIn is 4), " +
                "found 6");
    }

    @Test
    void labelsOutOfRangeAreRefused() throws Exception
    {
        final Path data = dir.resolve("labels.csv");
        Files.writeString(data, "1,0.1,0.2,0.3,0.4\n0,0.1,0.2,0.3,0.4\n7,0.1,0.2,0.3,0.4\n");
        assertRefusedWithNothingWritten(run("--model", model().toString(), "--train", data.toString()),
            "file:" + data + " line 3: label 7 is out of range 0..2 (the model's output layer has 3 classes)");
    }

    @Test
    void malformedRowsAreRefusedNamingFileAndLine() throws Exception
    {
        final Path data = dir.resolve("malformed.csv");
        Files.writeString(data, "1,0.1,0.2,0.3,0.4\n\n0,0.1,abc,0.3,0.4\n");
        assertRefusedWithNothingWritten(run("--model", model().toString(), "--train", data.toString()),
            "file:" + data + " line 3: field 3 'abc' is not a finite number");
    }

    @Test
    void libSvmRowsAreCheckedToo() throws Exception
    {
        final Path data = dir.resolve("data.libsvm");
        Files.writeString(data, "1 1:0.5 3:0.25\n2 2:0.5 9:1\n");
        assertRefusedWithNothingWritten(run("--model", model().toString(), "--train", data.toString()),
            "file:" + data + " line 2: index 9 in token 3 must be ascending and within 1..4 (the model's nIn)");
    }

    @Test
    void anEmptyDatasetIsRefused() throws Exception
    {
        final Path data = dir.resolve("empty.csv");
        Files.writeString(data, "");
        assertRefusedWithNothingWritten(run("--model", model().toString(), "--train", data.toString()),
            "the training data " + data + " has no examples");
    }

    @Test
    void moreWorkersThanExamplesIsRefused() throws Exception
    {
        final Path data = dir.resolve("two.csv");
        Files.writeString(data, "1,0.1,0.2,0.3,0.4\n0,0.1,0.2,0.3,0.4\n");
        assertRefusedWithNothingWritten(run("--model", model().toString(), "--train", data.toString(),
            "--workers", "3"), "more workers (3) than training examples (2)");
    }

    @Test
    void anUnreadableModelIsRefused() throws Exception
    {
        final Path json = dir.resolve("broken.json");
        Files.writeString(json, "{\"confs\": [ not json");
        assertRefusedWithNothingWritten(run("--model", json.toString(), "--train", csv("train.csv", 10).toString()),
            "--model " + json + " is not a DL4J MultiLayerConfiguration or ComputationGraphConfiguration JSON file " +
                "(what their toJson() writes): it is not JSON: ");
        assertRefusedWithNothingWritten(run("--model", dir.resolve("missing.json").toString()),
            "is neither a preset [");
    }

    @Test
    void modelSplitTrainsEvaluatesAndWritesTheModel() throws Exception
    {
        final int code = run("--mode", "model-split", "--shards", "2", "--model", model().toString(),
            "--train", csv("train.csv", 600).toString(), "--test", csv("test.csv", 200).toString(),
            "--batch-size", "16", "--epochs", "4");
        assertEquals(0, code, err);
        assertTrue(out.contains("2 shards of layers [0, 1], batch 16"), out);  // none has 100,000 weights: all
        final String[] lines = out.trim().split("\n");
        final String last = lines[lines.length - 1];
        assertTrue(last.matches("accuracy=\\d\\.\\d{4}"), last);
        assertTrue(Double.parseDouble(last.substring("accuracy=".length())) > 0.8, last);
        final MultiLayerNetwork saved = ModelSerializer.restoreMultiLayerNetwork(dir.resolve("model.zip").toFile());
        assertEquals(4 * 38, saved.getIterationCount(), "4 epochs of 38 steps of 16 examples (the last of 8)");
    }

    @Test
    void pairedModelSplitTrains() throws Exception
    {
        final int code = run("--mode", "model-split", "--shards", "2", "--split-pairing", "--model",
            model().toString(), "--train", csv("train.csv", 600).toString(), "--test", csv("test.csv", 200).toString(),
            "--batch-size", "16", "--epochs", "4");
        assertEquals(0, code, err);
        assertTrue(out.contains("2 shards of layers [0, 1] (paired), batch 16"), out);
        final String[] lines = out.trim().split("\n");
        final String last = lines[lines.length - 1];
        assertTrue(Double.parseDouble(last.substring("accuracy=".length())) > 0.8, last);
    }

    @Test
    void modelSplitOptionsAreChecked() throws Exception
    {
        final String train = csv("train.csv", 50).toString();
        assertRefusedWithNothingWritten(run("--mode", "model-split", "--shards", "0", "--train", train),
            "invalid --shards 0: expected >= 1");
        assertRefusedWithNothingWritten(run("--mode", "model-split", "--model", model().toString(), "--train", train,
            "--split-layers", "0,5"), "cannot split layers [0, 5] into 2 shards: split layer index 5 is out of " +
            "range: the network has 2 layers (0..1)");
        assertRefusedWithNothingWritten(run("--mode", "pipeline"),
            "invalid --mode pipeline: expected data-parallel or model-split");
        assertRefusedWithNothingWritten(run("--split-layers", "1"),
            "invalid --split-layers [1]: expected only with --mode model-split");
        assertRefusedWithNothingWritten(run("--split-pairing"),
            "invalid --split-pairing true: expected only with --mode model-split");
    }

    @Test
    void aMissingInputPathIsRefusedNamingTheOptionAndThePath() throws Exception
    {
        final Path missing = dir.resolve("no-such.csv");
        assertRefusedWithNothingWritten(run("--model", model().toString(), "--train", missing.toString()),
            "error: --train " + missing + ": no such file or folder (file:" + missing + ")");
        assertRefusedWithNothingWritten(run("--model", model().toString(), "--train",
            csv("train.csv", 20).toString(), "--test", missing.toString()),
            "error: --test " + missing + ": no such file or folder (file:" + missing + ")");
    }

    @Test
    void aBadLineInALaterSplitIsNamedByItsLineInTheFileAndNoTaskIsRetried() throws Exception
    {
        final Path data = csv("big.csv", 400);
        final List<String> lines = new ArrayList<>(Files.readAllLines(data));
        lines.set(299, "0,0.1,abc,0.3,0.4");
        Files.writeString(data, String.join("\r\n", lines) + "\r\n"); // CR LF: the line count must not double
        final long splitBytes = 2048;
        assertTrue(Files.size(data) > 8 * splitBytes, "line 300 lies beyond the first split");
        System.setProperty("spark.sql.files.maxPartitionBytes", Long.toString(splitBytes)); // Spark's file parts
        System.setProperty("spark.extraListeners", TaskAttemptCounter.class.getName());
        // Kryo without a registrator, as a user may configure: the check's task results must not depend on it.
        System.setProperty("spark.serializer", "org.apache.spark.serializer.KryoSerializer");
        TaskAttemptCounter.reset();
        final int code;
        try
        {
            code = runOn("local[2,4]", "--model", model().toString(), "--train", data.toString());
        }
        finally
        {
            System.clearProperty("spark.sql.files.maxPartitionBytes");
            System.clearProperty("spark.extraListeners");
            System.clearProperty("spark.serializer");
        }
        assertRefusedWithNothingWritten(code, "error: file:" + data + " line 300: field 3 'abc' is not a finite " +
            "number\n");
        // The file's 2 KiB parts are read in the 2 workers' partitions (consecutive parts in each, no shuffle after).
        assertTrue(TaskAttemptCounter.ENDED.get() >= 2, "tasks of the check: " + TaskAttemptCounter.ENDED.get());
        assertEquals(0, TaskAttemptCounter.FAILED.get(), "bad data fails no task, so Spark retries none");
    }

    @Test
    void aFolderOfPartFilesIsReadInNameOrderWhateverOrderTheFileSystemLists() throws Exception
    {
        final Path all = csv("all.csv", 120);
        final List<String> lines = Files.readAllLines(all);
        final Path parts = Files.createDirectory(dir.resolve("parts"));
        for (int p = 0; p < 4; p++)
        {
            Files.write(parts.resolve("part-0000" + p + ".csv"), lines.subList(30 * p, 30 * (p + 1)));
        }
        final String[] common = {"--model", model().toString(), "--test", all.toString(), "--workers", "2",
            "--batch-size", "8", "--epochs", "2"};
        assertEquals(0, run(concat(common, "--train", all.toString())), err);
        final float[] fromOneFile = savedParams();
        System.setProperty("spark.hadoop.fs." + ReversedListingFileSystem.SCHEME + ".impl",
            ReversedListingFileSystem.class.getName());
        try
        {
            assertEquals(0, run(concat(common, "--train", ReversedListingFileSystem.SCHEME + ":" + parts)), err);
        }
        finally
        {
            System.clearProperty("spark.hadoop.fs." + ReversedListingFileSystem.SCHEME + ".impl");
        }
        assertTrue(out.contains("120 training examples"), out);
        assertArrayEquals(RawBits.of(fromOneFile), RawBits.of(savedParams()),
            "part-00000..3 read in name order train exactly as the file of their lines in that order");
    }

    @Test
    void featuresFarBeyondUnitScaleGetOneWarningNamingFeatureScale() throws Exception
    {
        final StringBuilder text = new StringBuilder("1,0,255,3,4\n");
        for (int r = 1; r < 40; r++)
        {
            text.append(r % 3).append(',').append(r * 7 % 256).append(',').append(r * 11 % 256).append(',')
                .append(r * 13 % 256).append(',').append(r * 17 % 256).append('\n');
        }
        final Path data = dir.resolve("pixels.csv");
        Files.writeString(data, text);
        assertEquals(0, run("--model", model().toString(), "--train", data.toString(), "--workers", "2",
            "--batch-size", "10", "--epochs", "1"), err);
        final String warning = "warning: the training features span [0.0, 255.0] after --feature-scale 1.0, far " +
            "beyond [0, 1] or [-1, 1] (|x| <= 10.0); networks train worse on such inputs: give --feature-scale " +
            "0.00392157 to map them into [-1, 1] (e.g. 0.00392157 = 1/255 for 8-bit pixels)\n";
        assertEquals(1, err.split("warning:", -1).length - 1, err);
        assertTrue(err.contains(warning), err);
        assertTrue(out.indexOf("data: 40 training examples") < out.indexOf("trained:"), out);
    }

    /**
     * Parquet part files are read in name order (Spark's scan would order them by size) and each row is named by
     * its row in its file; a NaN feature is refused with that row.
     */
    @Test
    void parquetPartsAreReadInNameOrderAndANonFiniteFeatureIsRefusedWithItsRow() throws Exception
    {
        final Random random = new Random(5);
        final int[] partRows = {10, 50, 30}; // name order differs from size order
        final StructType schema = new StructType().add("label", DataTypes.IntegerType)
            .add("features", new VectorUDT());
        final List<List<Row>> parts = new ArrayList<>();
        final StringBuilder csv = new StringBuilder();
        for (final int rows : partRows)
        {
            final List<Row> part = new ArrayList<>();
            for (int r = 0; r < rows; r++)
            {
                final float[] x = {random.nextFloat(), random.nextFloat(), random.nextFloat(), random.nextFloat()};
                final int label = x[0] > x[1] && x[0] > x[2] ? 0 : x[1] > x[2] ? 1 : 2;
                part.add(RowFactory.create(label, Vectors.dense(x[0], x[1], x[2], x[3])));
                csv.append(label).append(',').append(x[0]).append(',').append(x[1]).append(',').append(x[2])
                    .append(',').append(x[3]).append('\n');
            }
            parts.add(part);
        }
        final Path folder = Files.createDirectory(dir.resolve("parts.parquet"));
        final Path withNaN = dir.resolve("nan.parquet");
        final SparkSession spark = SparkSession.builder().master("local[1]").appName("write-parquet")
            .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1").getOrCreate();
        try
        {
            for (int p = 0; p < parts.size(); p++)
            {
                final Path written = dir.resolve("written-" + p);
                spark.createDataFrame(parts.get(p), schema).coalesce(1).write().parquet(written.toString());
                try (var files = Files.list(written))
                {
                    Files.move(files.filter(f -> f.getFileName().toString().endsWith(".parquet")).findFirst()
                        .orElseThrow(), folder.resolve("part-0000" + p + ".parquet"));
                }
            }
            final List<Row> nan = new ArrayList<>(parts.get(0));
            nan.set(3, RowFactory.create(1, Vectors.dense(0.5, Double.NaN, 0.5, 0.5)));
            spark.createDataFrame(nan, schema).coalesce(1).write().parquet(withNaN.toString());
        }
        finally
        {
            spark.stop();
            SparkSession.clearActiveSession();
            SparkSession.clearDefaultSession();
        }
        final Path all = dir.resolve("all.csv");
        Files.writeString(all, csv);
        final String[] common = {"--model", model().toString(), "--test", all.toString(), "--workers", "2",
            "--batch-size", "8", "--epochs", "2"};
        assertEquals(0, run(concat(common, "--train", all.toString())), err);
        final float[] fromCsv = savedParams();
        assertEquals(0, run(concat(common, "--train", folder.toString())), err);
        assertTrue(out.contains("90 training examples"), out);
        assertArrayEquals(RawBits.of(fromCsv), RawBits.of(savedParams()),
            "part-00000..2 in name order train exactly as the CSV of their rows in that order");

        Files.delete(dir.resolve("model.zip"));
        Files.delete(dir.resolve("metrics.jsonl"));
        assertRefusedWithNothingWritten(run("--model", model().toString(), "--train", withNaN.toString()),
            ".parquet row 4: feature 2 is NaN; features must be finite numbers\n");
    }

    private static String[] concat(final String[] first, final String... more)
    {
        final List<String> all = new ArrayList<>(List.of(first));
        all.addAll(List.of(more));
        return all.toArray(String[]::new);
    }

    private float[] savedParams() throws Exception
    {
        return ModelSerializer.restoreMultiLayerNetwork(dir.resolve("model.zip").toFile()).params().toFloatVector();
    }

    @Test
    void badOptionsAreRefused()
    {
        assertRefusedWithNothingWritten(run("--epochs", "zero"), "option --epochs expects an integer, got 'zero'");
        assertRefusedWithNothingWritten(run("--updater", "adagrad"),
            "invalid --updater adagrad: expected adam, nesterovs or sgd");
        assertRefusedWithNothingWritten(run("--collective-timeout-seconds", "0"),
            "invalid --collective-timeout-seconds 0: expected >= 1");
        assertEquals(120, JobOptions.defaults().collectiveTimeoutSeconds());
        assertEquals(7, JobOptions.parse(
            new String[] {"--collective-timeout-seconds", "7"}).collectiveTimeoutSeconds());
        assertEquals(0, TrainJob.run(new String[] {"train", "--help"}, new PrintStream(new ByteArrayOutputStream()),
            new PrintStream(new ByteArrayOutputStream())));
    }
}
