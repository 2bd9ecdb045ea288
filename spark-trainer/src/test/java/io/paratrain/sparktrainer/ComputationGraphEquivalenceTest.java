package io.paratrain.sparktrainer;

import io.paratrain.sparktrainer.dl4j.AllReduceTrainingMaster;
import io.paratrain.sparktrainer.internal.dataparallel.ShardedUpdate;
import io.paratrain.sparktrainer.internal.snapshot.NetworkModel;
import org.deeplearning4j.datasets.iterator.utilty.ListDataSetIterator;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.params.BatchNormalizationParamInitializer;
import org.deeplearning4j.spark.impl.graph.SparkComputationGraph;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.Adam;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.LongStream;
import java.util.stream.Stream;

import static io.paratrain.sparktrainer.Networks.relativeDifference;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A ComputationGraph with a skip connection (ElementWiseVertex Add) and BatchNormalization, trained by N replicas x
 * batch b through {@link DataParallelTrainer} and through the DL4J drop-in ({@link SparkComputationGraph} with
 * {@link AllReduceTrainingMaster}), equals single-process DL4J {@code ComputationGraph.fit} at batch N x b on the
 * same examples in the same order, step by step as the listener hears it; the replicas' parameters are compared
 * bit for bit after every step ({@code checksumEverySteps(1)}).
 */
@Timeout(300)
class ComputationGraphEquivalenceTest
{
    /** The README's stated tolerance for float32 training, as BatchNormalizationEquivalenceTest asserts. */
    private static final double TOLERANCE = 1e-5;
    private static final int BATCH_PER_WORKER = 8;
    @RegisterExtension
    static final LocalSpark SPARK = new LocalSpark(3);

    static Stream<Arguments> cases()
    {
        return Stream.of(
            Arguments.of(2, 10, 3, true),    // a last step of 3 examples: slices of 2 and 1
            Arguments.of(2, 12, 0, false),
            Arguments.of(3, 8, 2, false),    // a last step of 2 < 3 examples: one replica sits it out
            Arguments.of(3, 10, 5, true));
    }

    /**
     * @param sharded the sharded optimizer step (the graph qualifies: Adam, no gradient normalization), or DL4J's
     *                whole update on every replica.
     */
    @ParameterizedTest(name = "workers={0} fullSteps={1} extraExamples={2} sharded={3}")
    @MethodSource("cases")
    void graphTrainsAsOneProcessWithTheCombinedBatch(final int workers, final int fullSteps, final int extraExamples,
        final boolean sharded)
    {
        final int globalBatch = workers * BATCH_PER_WORKER;
        final List<DataSet> examples = Networks.examples(fullSteps * globalBatch + extraExamples, 41);
        final ComputationGraph reference = Graphs.residual(new Adam(0.01), 61, 1);
        final ComputationGraph distributed = reference.clone();
        assertTrue(ShardedUpdate.supportFor(NetworkModel.of(distributed)).isEmpty(),
            "the graph must be able to take the sharded path");
        final INDArray initial = reference.params().dup();
        final int epochs = 2;
        final List<Double> referenceLosses = new ArrayList<>();
        final List<Integer> referenceExamples = new ArrayList<>();
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            for (final DataSet batch : Networks.minibatches(examples, globalBatch))
            {
                reference.fit(batch);
                referenceLosses.add(reference.score()); // the minibatch's mean loss before its update
                referenceExamples.add(batch.numExamples());
            }
            reference.incrementEpochCount();
        }
        final List<StepMetrics> steps = new CopyOnWriteArrayList<>();
        final List<Integer> epochEnds = new CopyOnWriteArrayList<>();
        final TrainingSummary summary = new DataParallelTrainer(SPARK.sc(), TrainerConfig.builder()
            .workers(workers)
            .batchSizePerWorker(BATCH_PER_WORKER)
            .epochs(epochs)
            .checksumEverySteps(1)
            .shardedUpdate(sharded)
            .build())
            .addListener(new TrainingListener()
            {
                @Override
                public void onStep(final StepMetrics metrics)
                {
                    steps.add(metrics);
                }

                @Override
                public void onEpochEnd(final int epoch, final double meanLoss, final double samplesPerSecond)
                {
                    epochEnds.add(epoch);
                }
            })
            .fit(distributed, SPARK.sc().parallelize(Networks.minibatches(examples, 5), 2));

        assertEquals(fullSteps + (extraExamples > 0 ? 1 : 0), summary.stepsPerEpoch());
        assertEquals(reference.getIterationCount(), distributed.getIterationCount(), "iteration count");
        assertEquals(epochs, distributed.getEpochCount(), "epoch count");
        // the listener heard every step in order, with the examples and the mean loss of the whole global batch
        assertEquals(LongStream.range(0, referenceLosses.size()).boxed().toList(),
            steps.stream().map(StepMetrics::globalStep).toList(), "steps reported");
        assertEquals(referenceExamples, steps.stream().map(StepMetrics::examples).toList(), "examples per step");
        assertEquals(List.of(0, 1), epochEnds, "epoch ends reported");
        double lossDifference = 0;
        for (int i = 0; i < steps.size(); i++)
        {
            lossDifference = Math.max(lossDifference, Math.abs(steps.get(i).loss() - referenceLosses.get(i)) /
                referenceLosses.get(i));
        }
        assertTrue(lossDifference <= TOLERANCE, "step loss: relative difference " + lossDifference);
        final double change = reference.params().sub(initial).norm2Number().doubleValue();
        final double relative = relativeDifference(reference.params(), distributed.params());
        final double updaterState = relativeDifference(reference.getUpdater().getStateViewArray(),
            distributed.getUpdater().getStateViewArray());
        final double runningMean = relativeDifference(runningStatistic(reference,
            BatchNormalizationParamInitializer.GLOBAL_MEAN), runningStatistic(distributed,
            BatchNormalizationParamInitializer.GLOBAL_MEAN));
        final double runningStd = relativeDifference(runningStatistic(reference,
            BatchNormalizationParamInitializer.GLOBAL_LOG_STD), runningStatistic(distributed,
            BatchNormalizationParamInitializer.GLOBAL_LOG_STD));
        System.out.printf("graph workers=%d sharded=%b: relative difference parameters %.3g, updater state %.3g, " +
            "running mean %.3g, running log10 std %.3g, step loss (max) %.3g (tolerance %.0e)%n", workers, sharded,
            relative, updaterState, runningMean, runningStd, lossDifference, TOLERANCE);
        assertTrue(change > 1e-2, "training must have moved the parameters (moved " + change + ")");
        assertTrue(relative <= TOLERANCE, "parameters: relative difference " + relative + " > " + TOLERANCE);
        assertTrue(updaterState <= TOLERANCE, "updater state: relative difference " + updaterState);
        assertTrue(runningMean <= TOLERANCE, "running mean: relative difference " + runningMean);
        assertTrue(runningStd <= TOLERANCE, "running log10 std: relative difference " + runningStd);
    }

    /**
     * The drop-in: {@code SparkComputationGraph.fit} with {@link AllReduceTrainingMaster} (refused before) trains
     * as one process does at the combined batch, and counts one epoch per fit as DL4J's own masters do.
     */
    @Test
    void sparkComputationGraphTrainsLikeOneProcessWithTheCombinedBatch()
    {
        final List<DataSet> examples = Networks.examples(2 * 16 * 20 + 7, 43);
        final ComputationGraph reference = Graphs.residual(new Adam(0.01), 62, 1);
        final ComputationGraph initial = reference.clone();
        for (final DataSet batch : Networks.minibatches(examples, 32))
        {
            reference.fit(batch);
        }
        reference.incrementEpochCount();
        final AllReduceTrainingMaster master = new AllReduceTrainingMaster(TrainerConfig.builder().epochs(1)
            .workers(2).batchSizePerWorker(16).checksumEverySteps(1).build());
        final SparkComputationGraph spark = new SparkComputationGraph(SPARK.sc(), initial, master);
        final ComputationGraph trained = spark.fit(SPARK.sc().parallelize(Networks.minibatches(examples, 10), 2));

        final double relative = relativeDifference(reference.params(), trained.params());
        System.out.printf("SparkComputationGraph with AllReduceTrainingMaster, 2 workers: relative difference %.3g " +
            "(tolerance %.0e)%n", relative, TOLERANCE);
        assertTrue(relative <= TOLERANCE, "relative difference " + relative);
        assertEquals(21, master.lastSummary().stepsPerEpoch());
        assertEquals(reference.getIterationCount(), trained.getIterationCount(), "iteration count");
        assertEquals(1, trained.getEpochCount(), "epoch count after one fit of one epoch");
        assertEquals(master.lastSummary().finalLoss(), spark.getScore());

        // DL4J's own evaluation of the wrapper's (trained) graph on Spark, against the reference's
        final List<DataSet> batches = Networks.minibatches(examples, 64);
        final Evaluation evaluation = spark.evaluate(SPARK.sc().parallelize(batches, 2));
        final Evaluation local = reference.evaluate(new ListDataSetIterator<>(batches));
        assertEquals(local.accuracy(), evaluation.accuracy(), 1e-6, "SparkComputationGraph.evaluate");
    }

    /**
     * {@link DataParallelTrainer#evaluate(ComputationGraph, org.apache.spark.api.java.JavaRDD)} counts exactly what
     * DL4J's {@code ComputationGraph.evaluate} counts on the same model and examples: every confusion matrix cell.
     */
    @Test
    void evaluatingAGraphOnTheExecutorsEqualsDl4jsEvaluation()
    {
        final List<DataSet> examples = Networks.examples(300, 47);
        final ComputationGraph graph = Graphs.residual(new Adam(0.01), 63, 1);
        for (int epoch = 0; epoch < 3; epoch++)
        {
            for (final DataSet batch : Networks.minibatches(examples, 20))
            {
                graph.fit(batch);
            }
        }
        final Evaluation local = graph.evaluate(new ListDataSetIterator<>(Networks.minibatches(examples, 64)));
        final Evaluation distributed = new DataParallelTrainer(SPARK.sc(), TrainerConfig.builder().epochs(1)
            .batchSizePerWorker(32).build())
            .evaluate(graph, SPARK.sc().parallelize(Networks.minibatches(examples, 7), 3));
        System.out.printf("graph evaluation: accuracy %.4f on the executors, %.4f by DL4J%n", distributed.accuracy(),
            local.accuracy());
        assertEquals(300, distributed.getNumRowCounter(), 0.0);
        for (int actual = 0; actual < Networks.CLASSES; actual++)
        {
            for (int predicted = 0; predicted < Networks.CLASSES; predicted++)
            {
                assertEquals(local.getConfusionMatrix().getCount(actual, predicted),
                    distributed.getConfusionMatrix().getCount(actual, predicted),
                    "confusion matrix, actual " + actual + ", predicted " + predicted);
            }
        }
        assertTrue(distributed.accuracy() > 0.5, "the pattern is learnable: " + distributed.accuracy());
    }

    private static INDArray runningStatistic(final ComputationGraph graph, final String name)
    {
        return graph.getParam(Graphs.BATCH_NORM + "_" + name);
    }
}
