package io.paratrain.sparktrainer.ml;

import io.paratrain.sparktrainer.DataParallelTrainer;
import io.paratrain.sparktrainer.Defaults;
import io.paratrain.modelsplit.SplitConfig;
import io.paratrain.sparktrainer.LocalSpark;
import io.paratrain.sparktrainer.ModelSplitConfig;
import io.paratrain.sparktrainer.ModelSplitTrainer;
import io.paratrain.sparktrainer.StepMetrics;
import io.paratrain.sparktrainer.TrainerConfig;
import io.paratrain.sparktrainer.TrainingListener;
import io.paratrain.sparktrainer.exceptions.InsufficientSlotsException;
import io.paratrain.sparktrainer.exceptions.TrainerConfigException;
import io.paratrain.sparktrainer.exceptions.TrainingInputException;
import io.paratrain.sparktrainer.job.ModelSource;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.evaluation.MulticlassClassificationEvaluator;
import org.apache.spark.ml.feature.StringIndexer;
import org.apache.spark.ml.feature.VectorAssembler;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.VectorUDT;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.apache.spark.ml.functions.vector_to_array;
import static org.apache.spark.sql.functions.aggregate;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.concat;
import static org.apache.spark.sql.functions.lit;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(600)
class ParatrainClassifierTest
{
    private static final int PIXELS = 784;
    @RegisterExtension
    static final LocalSpark SPARK = new LocalSpark(2);
    private static SparkSession spark;

    @BeforeAll
    static void startSpark()
    {
        spark = SparkSession.builder().sparkContext(SPARK.sc().sc()).getOrCreate();
    }

    @AfterAll
    static void stopSpark()
    {
        spark.stop();
    }

    @Test
    void trainsExactlyWhatTheDataParallelTrainerTrainsAndPlots(@TempDir final Path dir) throws IOException
    {
        final Dataset<Row> frame = BundledFrames.mnistTrain(spark).limit(1000).cache();
        final ParatrainClassifier estimator = new ParatrainClassifier().setHiddenLayers(64).setWorkers(2)
            .setBatchSizePerWorker(16).setEpochs(2).setUpdater("adam").setLearningRate(1e-3).setSeed(7)
            .setPlotDir(dir.toString());
        final ParatrainClassificationModel model = estimator.fit(frame);

        final List<DataSet> examples = examples(frame);
        final MultiLayerNetwork network = new MultiLayerNetwork(
            ModelSource.mlp(PIXELS, new int[] {64}, 10, new Adam(1e-3), 7));
        network.init();
        new DataParallelTrainer(SPARK.sc(), TrainerConfig.builder().workers(2).batchSizePerWorker(16).epochs(2)
            .ompThreadsPerWorker(1).build()).fit(network, SPARK.sc().parallelize(examples, 3));

        assertArrayEquals(network.params().toFloatVector(), model.network().params().toFloatVector(),
            "the Estimator's parameters must be bit-identical to DataParallelTrainer's");
        assertEquals(2 * 32, model.history().steps().size(), "1000 examples / batch 32 = 31.25 -> 32 steps x 2");
        assertEquals(2, model.history().epochs().size());
        assertEquals(64, java.nio.file.Files.readAllLines(dir.resolve(MetricsOutput.DEFAULT_FILE)).size() - 2,
            "64 step lines and 2 epoch lines in the metrics file the charts are drawn from");
        for (final String chart : List.of("loss.png", "throughput.png"))
        {
            assertEquals(720, javax.imageio.ImageIO.read(dir.resolve(chart).toFile()).getWidth(), chart);
        }
        frame.unpersist();
    }

    @Test
    void modelSplitModeTrainsExactlyWhatModelSplitTrainerTrains()
    {
        final Dataset<Row> frame = BundledFrames.mnistTrain(spark).limit(600).cache();
        final ParatrainClassificationModel model = new ParatrainClassifier().setMode("model-split").setShards(2)
            .setHiddenLayers(32).setBatchSizePerWorker(32).setEpochs(1).setSeed(3).fit(frame);

        final MultiLayerNetwork network = new MultiLayerNetwork(
            ModelSource.mlp(PIXELS, new int[] {32}, 10, new Adam(1e-3), 3));
        network.init();
        new ModelSplitTrainer(SPARK.sc(), ModelSplitConfig.builder(SplitConfig.of(2, 0, 1))
            .epochs(1).batchSize(32).build())
            .fit(network, SPARK.sc().parallelize(examples(frame), 3));
        assertArrayEquals(network.params().toFloatVector(), model.network().params().toFloatVector(),
            "the Estimator's parameters must be bit-identical to ModelSplitTrainer's");
        assertEquals(19, model.network().getIterationCount(), "600 examples / 32 = 18.75 -> 19 steps");
        frame.unpersist();
    }

    /** The rows as one-example DataSets, features cast to float as the Estimator does. */
    private static List<DataSet> examples(final Dataset<Row> frame)
    {
        final List<DataSet> examples = new ArrayList<>();
        for (final Row row : frame.collectAsList())
        {
            final double[] x = ((Vector)row.get(1)).toArray();
            final float[] xf = new float[x.length];
            for (int i = 0; i < x.length; i++)
            {
                xf[i] = (float)x[i];
            }
            final float[] y = new float[10];
            y[(int)row.getDouble(0)] = 1;
            examples.add(new DataSet(Nd4j.create(xf, 1, PIXELS), Nd4j.create(y, 1, 10)));
        }
        return examples;
    }

    @Test
    void trainsInAPipelineAfterStringIndexerAndVectorAssemblerAndSurvivesSaveAndLoad(@TempDir final Path dir)
        throws IOException
    {
        final Dataset<Row> train = rawColumns(BundledFrames.mnistTrain(spark)).cache();
        final Dataset<Row> test = rawColumns(BundledFrames.mnistTest(spark)).cache();
        final Pipeline pipeline = new Pipeline().setStages(new PipelineStage[] {
            new StringIndexer().setInputCol("digit").setOutputCol("label"),
            new VectorAssembler().setInputCols(new String[] {"pixels", "ink"}).setOutputCol("features"),
            new ParatrainClassifier().setEpochs(2).setBatchSizePerWorker(32)});
        final PipelineModel fitted = pipeline.fit(train);
        final Dataset<Row> predictions = fitted.transform(test).cache();
        final double accuracy = new MulticlassClassificationEvaluator().setMetricName("accuracy")
            .evaluate(predictions);
        assertTrue(accuracy > 0.90, "test accuracy " + accuracy + " should be above 0.90 after 2 epochs");

        final String path = dir.resolve("pipeline").toString();
        fitted.write().save(path);
        final Dataset<Row> reloaded = PipelineModel.load(path).transform(test);
        assertEquals(predictions.select("prediction", "probability").collectAsList(),
            reloaded.select("prediction", "probability").collectAsList(),
            "the loaded pipeline must predict exactly what the saved one did");
        predictions.unpersist();
        train.unpersist();
        test.unpersist();
    }

    /** The digit as a string ("d7"), the pixels as a vector and their mean as a number: raw columns to assemble. */
    private static Dataset<Row> rawColumns(final Dataset<Row> frame)
    {
        return frame.select(concat(lit("d"), col("label").cast("int")).as("digit"), col("features").as("pixels"),
            aggregate(vector_to_array(col("features"), "float64"), lit(0.0), (sum, x) -> sum.plus(x))
                .divide(PIXELS).as("ink"));
    }

    @Test
    void checksColumnsBeforeTraining()
    {
        final Dataset<Row> frame = BundledFrames.mnistTrain(spark).limit(100);
        final AtomicInteger steps = new AtomicInteger();
        final TrainingListener counter = (StepMetrics m) -> steps.incrementAndGet();

        assertMessage("no column pixels (the features) in the DataFrame; its columns are [label, features]",
            () -> new ParatrainClassifier().setFeaturesCol("pixels").addListener(counter).fit(frame));
        assertMessage("no column digit (the label) in the DataFrame; its columns are [label, features]",
            () -> new ParatrainClassifier().setLabelCol("digit").addListener(counter).fit(frame));
        assertMessage("column features (the features) must hold org.apache.spark.ml.linalg.Vector values (e.g. " +
            "from VectorAssembler) but is string", () -> new ParatrainClassifier().addListener(counter)
            .fit(frame.withColumn("features", lit("x"))));
        assertMessage("column label (the label) must be numeric class indices 0..k-1 (e.g. from StringIndexer) " +
            "but is string", () -> new ParatrainClassifier().addListener(counter)
            .fit(frame.withColumn("label", lit("seven"))));
        assertMessage("column label must hold class indices 0, 1, 2, ... but has 100 fractional values",
            () -> new ParatrainClassifier().addListener(counter)
                .fit(frame.withColumn("label", col("label").plus(0.5))));
        assertMessage("column label must hold class indices 0, 1, 2, ... but has minimum -1.0",
            () -> new ParatrainClassifier().addListener(counter)
                .fit(frame.withColumn("label", col("label").minus(1))));

        final String json100 = ModelSource.mlp(100, new int[] {8}, 10, new Adam(1e-3), 1).toJson();
        assertMessage("column features holds vectors of size 784 but the network's first layer has nIn=100",
            () -> new ParatrainClassifier().setModelJson(json100).addListener(counter).fit(frame));
        final String json784x5 = ModelSource.mlp(PIXELS, new int[] {8}, 5, new Adam(1e-3), 1).toJson();
        assertMessage("column label has labels up to 9 but the network has 5 outputs (labels must be 0..4)",
            () -> new ParatrainClassifier().setModelJson(json784x5).addListener(counter).fit(frame));
        assertEquals("plotDir needs per-step metrics, which model-split training does not report: use " +
            "mode=data-parallel or no plotDir", assertThrows(TrainerConfigException.class,
            () -> new ParatrainClassifier().setMode("model-split").setPlotDir("plots").fit(frame)).getMessage());
        assertEquals(0, steps.get(), "no bad input may reach a training step");
    }

    @Test
    void aNullWrongSizeOrNonFiniteFeaturesRowIsRefusedNamingColumnAndRowAndNothingIsWritten(
        @TempDir final Path dir)
    {
        final Path metrics = dir.resolve("metrics.jsonl");
        final AtomicInteger steps = new AtomicInteger();
        final String where = "column features, row 21 (1-based, in the DataFrame's order): ";
        assertMessage(where + "the features vector is null", () -> fitWithRow21(null, metrics, steps));
        assertMessage(where + "the features vector has size 3, expected 4 (the network's nIn)",
            () -> fitWithRow21(Vectors.dense(0.1, 0.2, 0.3), metrics, steps));
        assertMessage(where + "element 2 (0-based) of the features vector is NaN; features must be finite numbers",
            () -> fitWithRow21(Vectors.dense(0.1, 0.2, Double.NaN, 0.4), metrics, steps));
        assertMessage(where + "element 0 (0-based) of the features vector is -Infinity; features must be finite " +
            "numbers", () -> fitWithRow21(Vectors.dense(Double.NEGATIVE_INFINITY, 0.2, 0.3, 0.4), metrics, steps));
        assertMessage(where + "element 3 (0-based) of the features vector, 1.0E300, is beyond float32's range " +
            "(training is in float32)", () -> fitWithRow21(Vectors.dense(0.1, 0.2, 0.3, 1e300), metrics, steps));
        assertFalse(Files.exists(metrics), "no metrics file for data that cannot be trained");
        assertEquals(0, steps.get(), "no bad input may reach a training step");
    }

    /** Fits 40 rows of 4 features in 3 partitions (rows 1-13, 14-26, 27-40) whose row 21 is {@code row21}. */
    private static void fitWithRow21(final Vector row21, final Path metrics, final AtomicInteger steps)
    {
        final List<Row> rows = new ArrayList<>();
        for (int r = 1; r <= 40; r++)
        {
            rows.add(RowFactory.create(r % 3, r == 21 ? row21 : Vectors.dense(r / 40.0, 0.5, 0.25, 1 - r / 40.0)));
        }
        final StructType schema = new StructType().add("label", DataTypes.IntegerType)
            .add("features", new VectorUDT());
        new ParatrainClassifier().setHiddenLayers(8).setEpochs(1).setBatchSizePerWorker(4)
            .setMetricsPath(metrics.toString()).addListener((StepMetrics m) -> steps.incrementAndGet())
            .fit(spark.createDataFrame(SPARK.sc().parallelize(rows, 3), schema));
    }

    @Test
    void hasSparkMlParamsWithDefaultsValidationAndPersistence(@TempDir final Path dir) throws IOException
    {
        final ParatrainClassifier estimator = new ParatrainClassifier();
        assertEquals("features", estimator.getFeaturesCol());
        assertEquals("label", estimator.getLabelCol());
        assertEquals("prediction", estimator.getPredictionCol());
        assertEquals("probability", estimator.getProbabilityCol());
        assertEquals(2, estimator.getWorkers());
        assertEquals(64, estimator.getBatchSizePerWorker());
        assertEquals(3, estimator.getEpochs());
        assertEquals("adam", estimator.getUpdater());
        assertArrayEquals(new int[] {256}, estimator.getHiddenLayers());
        assertThrows(IllegalArgumentException.class, () -> estimator.setWorkers(0));
        assertThrows(IllegalArgumentException.class, () -> estimator.setUpdater("rmsprop"));
        assertThrows(IllegalArgumentException.class, () -> estimator.setLearningRate(-1));
        assertThrows(IllegalArgumentException.class, () -> estimator.setHiddenLayers(16, 0));
        assertThrows(IllegalArgumentException.class, () -> estimator.setMode("pipeline-parallel"));
        assertThrows(IllegalArgumentException.class, () -> estimator.setShards(0));
        assertEquals("data-parallel", estimator.getMode());

        estimator.setWorkers(3).setEpochs(5).setHiddenLayers(32, 16).setProbabilityCol("p");
        final ParatrainClassifier copy = estimator.copy(new org.apache.spark.ml.param.ParamMap()
            .put(estimator.epochs(), 7));
        assertEquals(7, copy.getEpochs());
        assertEquals(3, copy.getWorkers());
        assertEquals(estimator.uid(), copy.uid());

        final String path = dir.resolve("estimator").toString();
        estimator.write().save(path);
        final ParatrainClassifier loaded = ParatrainClassifier.load(path);
        assertEquals(estimator.uid(), loaded.uid());
        assertEquals(3, loaded.getWorkers());
        assertEquals(5, loaded.getEpochs());
        assertArrayEquals(new int[] {32, 16}, loaded.getHiddenLayers());
        assertEquals("p", loaded.getProbabilityCol());
    }

    @Test
    void slotWaitSecondsIsAValidatedPersistedParamThatBothTrainersGet(@TempDir final Path dir) throws IOException
    {
        final ParatrainClassifier estimator = new ParatrainClassifier();
        assertEquals(Defaults.SLOT_WAIT_MS / 1000, estimator.getSlotWaitSeconds());
        assertEquals(Defaults.SLOT_WAIT_MS, estimator.trainerConfig(SPARK.sc()).slotWaitMs());
        assertThrows(IllegalArgumentException.class, () -> estimator.setSlotWaitSeconds(-1));
        estimator.setSlotWaitSeconds(7);
        assertEquals(7_000, estimator.trainerConfig(SPARK.sc()).slotWaitMs());
        assertEquals(7_000, estimator.modelSplitTrainer(SPARK.sc(), SplitConfig.of(2, 0, 1)).config().slotWaitMs());
        assertEquals(0, estimator.setSlotWaitSeconds(0).trainerConfig(SPARK.sc()).slotWaitMs(), "0 = no wait");

        final String path = dir.resolve("estimator").toString();
        estimator.setSlotWaitSeconds(9).write().save(path);
        assertEquals(9, ParatrainClassifier.load(path).getSlotWaitSeconds());

        // local[2] cannot give 3 workers a slot each, however long the wait
        final InsufficientSlotsException error = assertThrows(InsufficientSlotsException.class,
            () -> new ParatrainClassifier().setWorkers(3).setSlotWaitSeconds(600).setHiddenLayers(8)
                .fit(BundledFrames.mnistTrain(spark).limit(60)));
        assertTrue(error.getMessage().startsWith("the data-parallel fit needs 3 task slots at once (one barrier " +
            "task each), but Spark in local mode (master local[2], spark.task.cpus=1) has 2 and cannot gain more"),
            error.getMessage());
    }

    private static void assertMessage(final String expected, final org.junit.jupiter.api.function.Executable fit)
    {
        assertEquals(expected, assertThrows(TrainingInputException.class, fit).getMessage());
    }
}
