package io.paratrain.sparktrainer;

import io.paratrain.sparktrainer.dl4j.AllReduceTrainingMaster;
import io.paratrain.sparktrainer.exceptions.TrainingInputException;
import io.paratrain.sparktrainer.internal.dataparallel.ShardedUpdate;
import io.paratrain.sparktrainer.internal.snapshot.NetworkModel;
import org.deeplearning4j.datasets.iterator.utilty.SingletonMultiDataSetIterator;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.spark.impl.graph.SparkComputationGraph;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.evaluation.IEvaluation;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.evaluation.regression.RegressionEvaluation;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;

import static io.paratrain.sparktrainer.Networks.relativeDifference;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A ComputationGraph with two inputs (one a masked time series) and two outputs (cross-entropy and squared error),
 * fed MultiDataSets: N replicas x batch b through {@link DataParallelTrainer#fitMultiDataSet} and through the DL4J
 * drop-in ({@code SparkComputationGraph.fitMultiDataSet} with {@link AllReduceTrainingMaster}) equal single-process
 * DL4J {@code ComputationGraph.fit(MultiDataSet)} at batch N x b on the same examples in the same order; the
 * replicas' parameters are compared bit for bit after every step ({@code checksumEverySteps(1)}). Evaluation on
 * MultiDataSets counts what DL4J counts, per output.
 */
@Timeout(300)
class MultiDataSetEquivalenceTest
{
    /** The README's stated tolerance for float32 training. */
    private static final double TOLERANCE = 1e-5;
    private static final int BATCH_PER_WORKER = 8;
    @RegisterExtension
    static final LocalSpark SPARK = new LocalSpark(3);

    static Stream<Arguments> cases()
    {
        return Stream.of(
            // 2 partitions for 2 workers, one shape: the examples are exchanged over the ring
            Arguments.of(2, 10, 3, true, false),     // a last step of 3 examples: slices of 2 and 1
            Arguments.of(2, 12, 0, false, true),     // series of different lengths: the shuffle, padded
            Arguments.of(3, 8, 2, false, false),     // a last step of 2 < 3 examples: one replica sits it out
            Arguments.of(3, 10, 5, true, true));
    }

    /**
     * @param sharded         the sharded optimizer step, or DL4J's whole update on every replica.
     * @param variableLengths series of different lengths (padded when merged), or one length with masks.
     */
    @ParameterizedTest(name = "workers={0} fullSteps={1} extraExamples={2} sharded={3} variableLengths={4}")
    @MethodSource("cases")
    void twoInputsTwoOutputsTrainAsOneProcessWithTheCombinedBatch(final int workers, final int fullSteps,
        final int extraExamples, final boolean sharded, final boolean variableLengths)
    {
        final int globalBatch = workers * BATCH_PER_WORKER;
        final List<MultiDataSet> examples = MultiDataSets.examples(fullSteps * globalBatch + extraExamples, 51,
            variableLengths);
        final ComputationGraph reference = MultiDataSets.graph(new Adam(0.01), 71);
        final ComputationGraph distributed = reference.clone();
        assertTrue(ShardedUpdate.supportFor(NetworkModel.of(distributed)).isEmpty(),
            "the graph must be able to take the sharded path");
        final INDArray initial = reference.params().dup();
        final int epochs = 2;
        final List<Double> referenceLosses = new ArrayList<>();
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            for (final MultiDataSet batch : MultiDataSets.minibatches(examples, globalBatch))
            {
                reference.fit(batch);
                referenceLosses.add(reference.score()); // the minibatch's mean loss before its update
            }
            reference.incrementEpochCount();
        }
        final List<StepMetrics> steps = new CopyOnWriteArrayList<>();
        final TrainingSummary summary = new DataParallelTrainer(SPARK.sc(), TrainerConfig.builder()
            .workers(workers)
            .batchSizePerWorker(BATCH_PER_WORKER)
            .epochs(epochs)
            .checksumEverySteps(1)
            .shardedUpdate(sharded)
            .build())
            .addListener(steps::add)
            .fitMultiDataSet(distributed, SPARK.sc().parallelize(MultiDataSets.minibatches(examples, 5), 2));

        assertEquals(fullSteps + (extraExamples > 0 ? 1 : 0), summary.stepsPerEpoch());
        assertEquals(reference.getIterationCount(), distributed.getIterationCount(), "iteration count");
        assertEquals(epochs, distributed.getEpochCount(), "epoch count");
        assertEquals(referenceLosses.size(), steps.size(), "steps reported");
        double lossDifference = 0;
        for (int i = 0; i < steps.size(); i++)
        {
            lossDifference = Math.max(lossDifference, Math.abs(steps.get(i).loss() - referenceLosses.get(i)) /
                referenceLosses.get(i));
        }
        final double change = reference.params().sub(initial).norm2Number().doubleValue();
        final double relative = relativeDifference(reference.params(), distributed.params());
        final double updaterState = relativeDifference(reference.getUpdater().getStateViewArray(),
            distributed.getUpdater().getStateViewArray());
        System.out.printf("MultiDataSet graph workers=%d sharded=%b variableLengths=%b: relative difference " +
            "parameters %.3g, updater state %.3g, step loss (max) %.3g (tolerance %.0e)%n", workers, sharded,
            variableLengths, relative, updaterState, lossDifference, TOLERANCE);
        assertTrue(change > 1e-2, "training must have moved the parameters (moved " + change + ")");
        assertTrue(lossDifference <= TOLERANCE, "step loss: relative difference " + lossDifference);
        assertTrue(relative <= TOLERANCE, "parameters: relative difference " + relative + " > " + TOLERANCE);
        assertTrue(updaterState <= TOLERANCE, "updater state: relative difference " + updaterState);
    }

    /**
     * The drop-in: {@code SparkComputationGraph.fitMultiDataSet} with {@link AllReduceTrainingMaster} (refused
     * before) trains as one process does at the combined batch, and counts one epoch per fit.
     */
    @Test
    void sparkComputationGraphFitMultiDataSetTrainsLikeOneProcessWithTheCombinedBatch()
    {
        final List<MultiDataSet> examples = MultiDataSets.examples(2 * 16 * 12 + 7, 53, true);
        final ComputationGraph reference = MultiDataSets.graph(new Adam(0.01), 72);
        final ComputationGraph initial = reference.clone();
        for (final MultiDataSet batch : MultiDataSets.minibatches(examples, 32))
        {
            reference.fit(batch);
        }
        reference.incrementEpochCount();
        final AllReduceTrainingMaster master = new AllReduceTrainingMaster(TrainerConfig.builder().epochs(1)
            .workers(2).batchSizePerWorker(16).checksumEverySteps(1).build());
        final SparkComputationGraph spark = new SparkComputationGraph(SPARK.sc(), initial, master);
        final ComputationGraph trained = spark.fitMultiDataSet(SPARK.sc().parallelize(
            MultiDataSets.minibatches(examples, 10), 2));

        final double relative = relativeDifference(reference.params(), trained.params());
        System.out.printf("SparkComputationGraph.fitMultiDataSet with AllReduceTrainingMaster, 2 workers: relative " +
            "difference %.3g (tolerance %.0e)%n", relative, TOLERANCE);
        assertTrue(relative <= TOLERANCE, "relative difference " + relative);
        assertEquals(13, master.lastSummary().stepsPerEpoch());
        assertEquals(reference.getIterationCount(), trained.getIterationCount(), "iteration count");
        assertEquals(1, trained.getEpochCount(), "epoch count after one fit of one epoch");
        assertEquals(master.lastSummary().finalLoss(), spark.getScore());
    }

    /**
     * {@link DataParallelTrainer#evaluateMultiDataSet} of a one-output graph counts what its DataSet evaluation (which
     * ComputationGraphEquivalenceTest checks against DL4J's) counts on the same examples: every confusion matrix cell;
     * a graph with two outputs is refused, naming them.
     */
    @Test
    void evaluatingMultiDataSetsCountsWhatTheDataSetEvaluationCounts()
    {
        final List<org.nd4j.linalg.dataset.DataSet> examples = Networks.examples(300, 49);
        final ComputationGraph graph = Graphs.residual(new Adam(0.01), 74, 1);
        for (final org.nd4j.linalg.dataset.DataSet batch : Networks.minibatches(examples, 20))
        {
            graph.fit(batch);
        }
        final List<org.nd4j.linalg.dataset.DataSet> batches = Networks.minibatches(examples, 7);
        final DataParallelTrainer trainer = new DataParallelTrainer(SPARK.sc(), TrainerConfig.builder().epochs(1)
            .batchSizePerWorker(32).build());
        final Evaluation fromDataSets = trainer.evaluate(graph, SPARK.sc().parallelize(batches, 3));
        final Evaluation fromMultiDataSets = trainer.evaluateMultiDataSet(graph, SPARK.sc().parallelize(
            batches.stream().map(batch -> (MultiDataSet)batch.toMultiDataSet()).toList(), 3));
        assertEquals(300, fromMultiDataSets.getNumRowCounter(), 0.0);
        for (int actual = 0; actual < Networks.CLASSES; actual++)
        {
            for (int predicted = 0; predicted < Networks.CLASSES; predicted++)
            {
                assertEquals(fromDataSets.getConfusionMatrix().getCount(actual, predicted),
                    fromMultiDataSets.getConfusionMatrix().getCount(actual, predicted),
                    "confusion matrix, actual " + actual + ", predicted " + predicted);
            }
        }
        final TrainingInputException refused = assertThrows(TrainingInputException.class,
            () -> trainer.evaluateMultiDataSet(MultiDataSets.graph(new Adam(0.01), 75),
                SPARK.sc().parallelize(MultiDataSets.examples(4, 1, false), 1)));
        assertEquals("evaluateMultiDataSet classifies with one output; the graph has 2 (evaluate each output with " +
            "evaluateOutputs)", refused.getMessage());
    }

    /**
     * {@link DataParallelTrainer#evaluateOutputs} of the two-output graph on 2 partitions counts what DL4J's own
     * single-process {@code ComputationGraph.evaluate(iterator, Map<Integer, IEvaluation[]>)} counts on the same
     * MultiDataSets (padded series with features masks, labels masks on both outputs): the classifier output's
     * every confusion matrix cell, the regression output's figures per column within 1e-6 (R^2 only since the merge
     * adds the label sums DL4J's RegressionEvaluation.merge leaves out); also with empty partitions first.
     */
    @Test
    void evaluatingEachOutputCountsWhatDl4jCountsInOneProcess()
    {
        final ComputationGraph graph = MultiDataSets.graph(new Adam(0.01), 76);
        final List<MultiDataSet> examples = MultiDataSets.examples(203, 57, true);
        for (int epoch = 0; epoch < 6; epoch++) // trained enough that the classes are told apart
        {
            MultiDataSets.minibatches(examples, 16).forEach(graph::fit);
        }
        final List<MultiDataSet> batches = new ArrayList<>();
        int example = 0;
        for (final MultiDataSet batch : MultiDataSets.minibatches(examples, 9))
        {
            final int size = (int)batch.getLabels(0).size(0);
            final float[] classMask = new float[size];
            final float[] valueMask = new float[size];
            for (int i = 0; i < size; i++, example++)
            {
                classMask[i] = example % 7 == 3 ? 0 : 1; // a few examples count for one output only
                valueMask[i] = example % 5 == 1 ? 0 : 1;
            }
            batches.add(new org.nd4j.linalg.dataset.MultiDataSet(batch.getFeatures(), batch.getLabels(),
                batch.getFeaturesMaskArrays(), new INDArray[] {Nd4j.create(classMask, size, 1),
                Nd4j.create(valueMask, size, 1)}));
        }
        final Map<Integer, IEvaluation[]> local = Map.of(
            0, new IEvaluation[] {new Evaluation(MultiDataSets.CLASSES)},
            1, new IEvaluation[] {new RegressionEvaluation(MultiDataSets.VALUES)});
        for (final MultiDataSet batch : batches)
        {
            graph.evaluate(new SingletonMultiDataSetIterator(batch), local);
        }
        final DataParallelTrainer trainer = new DataParallelTrainer(SPARK.sc(), TrainerConfig.builder().workers(2)
            .batchSizePerWorker(BATCH_PER_WORKER).epochs(1).build());
        assertCountsAsDl4j(local, trainer.evaluateOutputs(graph, SPARK.sc().parallelize(batches, 2)),
            "2 partitions");
        // partitions without examples first: DL4J's RegressionEvaluation.merge of two that saw nothing gives NaN means
        assertCountsAsDl4j(local, trainer.evaluateOutputs(graph, SPARK.sc().<MultiDataSet>parallelize(List.of(), 2)
            .union(SPARK.sc().parallelize(batches, 2))), "2 empty partitions, then 2");
    }

    private static void assertCountsAsDl4j(final Map<Integer, IEvaluation[]> local,
        final List<IEvaluation<?>> distributed, final String partitions)
    {
        assertEquals(2, distributed.size());
        final Evaluation localClass = (Evaluation)local.get(0)[0];
        final Evaluation distributedClass = assertInstanceOf(Evaluation.class, distributed.get(0));
        assertEquals(203 - 29, distributedClass.getNumRowCounter(), 0.0, "examples 3, 10, ..., 199 masked");
        assertEquals(localClass.getNumRowCounter(), distributedClass.getNumRowCounter(), 0.0);
        for (int actual = 0; actual < MultiDataSets.CLASSES; actual++)
        {
            for (int predicted = 0; predicted < MultiDataSets.CLASSES; predicted++)
            {
                assertEquals(localClass.getConfusionMatrix().getCount(actual, predicted),
                    distributedClass.getConfusionMatrix().getCount(actual, predicted), partitions +
                    ": output 'class': confusion matrix, actual " + actual + ", predicted " + predicted);
            }
        }
        final RegressionEvaluation localValue = (RegressionEvaluation)local.get(1)[0];
        final RegressionEvaluation distributedValue = assertInstanceOf(RegressionEvaluation.class,
            distributed.get(1));
        assertEquals(203 - 41, distributedValue.getExampleCountPerColumn().getDouble(0), 0.0,
            "examples 1, 6, ..., 201 masked");
        for (int column = 0; column < MultiDataSets.VALUES; column++)
        {
            final String what = partitions + ": output 'value', column " + column;
            assertEquals(localValue.getExampleCountPerColumn().getDouble(column),
                distributedValue.getExampleCountPerColumn().getDouble(column), 0.0, what + ": examples");
            assertEquals(localValue.meanSquaredError(column), distributedValue.meanSquaredError(column), 1e-6,
                what + ": MSE");
            assertEquals(localValue.meanAbsoluteError(column), distributedValue.meanAbsoluteError(column), 1e-6,
                what + ": MAE");
            assertEquals(localValue.rootMeanSquaredError(column), distributedValue.rootMeanSquaredError(column),
                1e-6, what + ": RMSE");
            assertEquals(localValue.rSquared(column), distributedValue.rSquared(column), 1e-6, what + ": R^2");
            assertEquals(localValue.pearsonCorrelation(column), distributedValue.pearsonCorrelation(column), 1e-6,
                what + ": Pearson");
        }
        System.out.printf("evaluateOutputs, %s: 'class' accuracy %.4f (DL4J %.4f), 'value' MSE %.6g (DL4J %.6g), " +
            "R^2 %.6g (DL4J %.6g)%n%s%n", partitions, distributedClass.accuracy(), localClass.accuracy(),
            distributedValue.averageMeanSquaredError(), localValue.averageMeanSquaredError(),
            distributedValue.averageRSquared(), localValue.averageRSquared(), distributedClass.confusionToString());
    }

    /** An output that is not a classifier, a binary output or a regression is refused by name before any Spark job. */
    @Test
    void anOutputThatIsNoClassifierBinaryOrRegressionIsRefusedByName()
    {
        final ComputationGraph graph = new ComputationGraph(new NeuralNetConfiguration.Builder().seed(3)
            .dataType(DataType.FLOAT).graphBuilder()
            .addInputs("in")
            .addLayer("class", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(4).nOut(3)
                .activation(Activation.SOFTMAX).build(), "in")
            .addLayer("hinge", new OutputLayer.Builder(LossFunctions.LossFunction.HINGE).nIn(4).nOut(2)
                .activation(Activation.IDENTITY).build(), "in")
            .setOutputs("class", "hinge")
            .build());
        graph.init();
        final TrainingInputException refused = assertThrows(TrainingInputException.class, () ->
            new DataParallelTrainer(SPARK.sc(), TrainerConfig.builder().epochs(1).build()).evaluateOutputs(graph,
                SPARK.sc().emptyRDD()));
        assertEquals("output 'hinge' cannot be evaluated: its loss LossHinge is not a classifier's (MCXENT or " +
            "negative log-likelihood, one-hot labels), a binary output's (XENT, 0/1 labels per column) or a " +
            "regression's (MSE, L2, L1, MAE, MAPE or MSLE)",
            refused.getMessage());
    }

    /** DataSets have one input and one output: a graph with two of each is refused before training, naming both. */
    @Test
    void dataSetsForAGraphWithTwoInputsAreRefusedNamingTheCounts()
    {
        final ComputationGraph graph = MultiDataSets.graph(new Adam(0.01), 73);
        final TrainingInputException refused = assertThrows(TrainingInputException.class, () ->
            new DataParallelTrainer(SPARK.sc(), TrainerConfig.builder().workers(2).batchSizePerWorker(8).epochs(1)
                .build()).fit(graph, SPARK.sc().parallelize(Networks.minibatches(Networks.examples(40, 5), 10), 2)));
        assertEquals("the ComputationGraph has 2 input(s) and 2 output(s), the examples 1 and 1 (a DataSet has one " +
            "of each: train a graph with several on MultiDataSets)", refused.getMessage());
    }

    /**
     * A MultiDataSet that cannot go into one minibatch with the others is named as a MultiDataSet, the record the
     * caller passed (before, the message said "DataSet 3"), and nothing is trained.
     */
    @Test
    void aMisshapenMultiDataSetIsNamedAsAMultiDataSet()
    {
        final ComputationGraph graph = MultiDataSets.graph(new Adam(0.01), 79);
        final INDArray before = graph.params().dup();
        final List<MultiDataSet> records = new ArrayList<>(MultiDataSets.minibatches(MultiDataSets.examples(24, 83,
            false), 4));
        final MultiDataSet good = records.get(4);
        records.set(4, new org.nd4j.linalg.dataset.MultiDataSet(new INDArray[] {good.getFeatures(0),
            good.getFeatures(1)}, new INDArray[] {good.getLabels(0), good.getLabels(1).getColumns(0)},
            good.getFeaturesMaskArrays(), null));
        final TrainingInputException refused = assertThrows(TrainingInputException.class, () ->
            new DataParallelTrainer(SPARK.sc(), TrainerConfig.builder().workers(2).batchSizePerWorker(4).epochs(1)
                .build()).fitMultiDataSet(graph, SPARK.sc().parallelize(records, 2)));
        assertEquals("partition 1, MultiDataSet 1: cannot combine its examples into a minibatch with the " +
            "partition's MultiDataSet 0: labels 1 dimension 1 is 2 and 1; MultiDataSet 0 has features 0 [n, 6], " +
            "features 1 [n, 3, 6], labels 0 [n, 4], labels 1 [n, 2], no features 0 mask, features 1 mask [n, 6], " +
            "no labels 0 mask, no labels 1 mask, MultiDataSet 1 has features 0 [n, 6], features 1 [n, 3, 6], " +
            "labels 0 [n, 4], labels 1 [n, 1], no features 0 mask, features 1 mask [n, 6], no labels 0 mask, no " +
            "labels 1 mask", refused.getMessage());
        RawBits.assertSameBits(before, graph.params(), "nothing trained");
    }
}
