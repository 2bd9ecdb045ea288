package io.paratrain.sparktrainer.job;

import io.paratrain.sparktrainer.exceptions.TrainingInputException;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.MultiDataSet;

import java.util.List;

/**
 * The job's training and test data, read and checked before training: examples (CSV, LibSVM, Parquet or the
 * bundled data) or exported DataSet or MultiDataSet files. Without --test the model is evaluated on its training
 * data.
 *
 * @param train         what the model trains on.
 * @param test          what it is evaluated on (null for MultiDataSets).
 * @param testMulti     what it is evaluated on when the data are MultiDataSets, else null.
 * @param trainExamples examples per epoch.
 * @param trainName     where the training data comes from, for messages.
 * @param testExamples  examples evaluated.
 * @param testName      where the test data comes from, for messages.
 * @param minFeature    smallest training feature (+infinity when there is none).
 * @param maxFeature    largest training feature (-infinity when there is none).
 */
record JobInput(TrainingData train, JavaRDD<DataSet> test, JavaRDD<MultiDataSet> testMulti, long trainExamples,
                String trainName, long testExamples, String testName, float minFeature, float maxFeature)
{
    /** Reads and checks the data {@code options} names for {@code model}; refuses data it cannot train on. */
    static JobInput read(final JavaSparkContext sc, final JobOptions options, final JobModel model)
    {
        return options.exportedMulti() ? exportedMulti(sc, options, model) : options.exported() ?
            exported(sc, options, model) : examples(sc, options, model);
    }

    private static JobInput examples(final JavaSparkContext sc, final JobOptions options, final JobModel model)
    {
        final ExampleReader reader = new ExampleReader(model.inputs(), model.classes(),
            options.effectiveFeatureScale());
        final String trainName = options.bundledData() ? "bundled " + BundledData.TRAIN : options.trainPath();
        final CheckedExamples trainInput = options.bundledData() ?
            reader.readBundledCsv(sc, BundledData.TRAIN, options.tasks()) :
            reader.read(sc, options.trainPath(), options.format(), options.tasks());
        final String testName = options.bundledData() ? "bundled " + BundledData.TEST :
            options.testPath() != null ? options.testPath() : options.trainPath() + " (no --test: training data)";
        final CheckedExamples testInput = options.bundledData() ?
            reader.readBundledCsv(sc, BundledData.TEST, options.tasks()) :
            options.testPath() != null ? reader.read(sc, options.testPath(), options.format(), options.tasks()) :
            trainInput;
        final List<CheckedExamples.Summary> checked = CheckedExamples.check(testInput == trainInput ?
            List.of(trainInput) : List.of(trainInput, testInput));
        final CheckedExamples.Summary trainChecked = checked.get(0);
        final long trainExamples = trainChecked.examples();
        final long testExamples = checked.get(checked.size() - 1).examples();
        requireEnough(options, trainExamples, trainName, testExamples, testName);
        // In data order, one partition per barrier task, DataSets of 256 examples: fewer, larger objects to route.
        return new JobInput(new TrainingData.Examples(trainInput.examples(options.tasks())),
            testInput.examples(options.tasks()), null, trainExamples, trainName, testExamples, testName,
            trainChecked.minFeature(), trainChecked.maxFeature());
    }

    /** Exported files: each is loaded and checked once here; the fit loads them again where they are read. */
    private static JobInput exported(final JavaSparkContext sc, final JobOptions options, final JobModel model)
    {
        final List<String> trainFiles = ExportedFiles.list("--train", options.trainPath(), sc.hadoopConfiguration(),
            "DataSet");
        final List<String> testFiles = options.testPath() == null ? trainFiles :
            ExportedFiles.list("--test", options.testPath(), sc.hadoopConfiguration(), "DataSet");
        final String trainName = trainFiles.size() + " exported DataSet files in " + options.trainPath();
        final String testName = options.testPath() == null ? trainName + " (no --test: training data)" :
            testFiles.size() + " exported DataSet files in " + options.testPath();
        final int trainPartitions = Math.min(trainFiles.size(), options.tasks());
        final ExportedCheck.Summary trainChecked = ExportedCheck.check(sc, trainFiles, trainPartitions, model);
        final int testPartitions = Math.min(testFiles.size(), options.tasks());
        final long testExamples = testFiles == trainFiles ? trainChecked.examples() :
            ExportedCheck.check(sc, testFiles, testPartitions, model).examples();
        requireEnough(options, trainChecked.examples(), trainName, testExamples, testName);
        final TrainingData train = new TrainingData.Exported(sc.parallelize(trainFiles, trainPartitions),
            ExportedFiles.load(sc, trainFiles, trainPartitions));
        return new JobInput(train, testFiles == trainFiles ? train.examples() :
            ExportedFiles.load(sc, testFiles, testPartitions), null, trainChecked.examples(), trainName,
            testExamples, testName, trainChecked.minFeature(), trainChecked.maxFeature());
    }

    /** Exported MultiDataSet files for a graph, as {@link #exported} DataSet files. */
    private static JobInput exportedMulti(final JavaSparkContext sc, final JobOptions options, final JobModel model)
    {
        final String kind = "MultiDataSet";
        final List<String> trainFiles = ExportedFiles.list("--train", options.trainPath(), sc.hadoopConfiguration(),
            kind);
        final List<String> testFiles = options.testPath() == null ? trainFiles :
            ExportedFiles.list("--test", options.testPath(), sc.hadoopConfiguration(), kind);
        final String trainName = trainFiles.size() + " exported MultiDataSet files in " + options.trainPath();
        final String testName = options.testPath() == null ? trainName + " (no --test: training data)" :
            testFiles.size() + " exported MultiDataSet files in " + options.testPath();
        final int trainPartitions = Math.min(trainFiles.size(), options.tasks());
        final ExportedCheck.Summary trainChecked = ExportedCheck.checkMulti(sc, trainFiles, trainPartitions,
            model.multiShape());
        final int testPartitions = Math.min(testFiles.size(), options.tasks());
        final long testExamples = testFiles == trainFiles ? trainChecked.examples() :
            ExportedCheck.checkMulti(sc, testFiles, testPartitions, model.multiShape()).examples();
        requireEnough(options, trainChecked.examples(), trainName, testExamples, testName);
        final TrainingData.ExportedMulti train = new TrainingData.ExportedMulti(sc.parallelize(trainFiles,
            trainPartitions), ExportedFiles.loadMulti(sc, trainFiles, trainPartitions));
        return new JobInput(train, null, testFiles == trainFiles ? train.multiDataSets() :
            ExportedFiles.loadMulti(sc, testFiles, testPartitions), trainChecked.examples(), trainName,
            testExamples, testName, trainChecked.minFeature(), trainChecked.maxFeature());
    }

    private static void requireEnough(final JobOptions options, final long trainExamples, final String trainName,
        final long testExamples, final String testName)
    {
        if (trainExamples == 0)
        {
            throw new TrainingInputException("the training data " + trainName + " has no examples");
        }
        if (testExamples == 0)
        {
            throw new TrainingInputException("the test data " + testName + " has no examples");
        }
        if (!options.modelSplit() && trainExamples < options.workers())
        {
            throw new TrainingInputException("more workers (" + options.workers() + ") than training examples (" +
                trainExamples + ")");
        }
    }
}
