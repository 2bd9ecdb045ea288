package io.paratrain.sparktrainer;

import io.paratrain.sparktrainer.internal.dataparallel.ShardedUpdate;
import io.paratrain.sparktrainer.internal.snapshot.NetworkModel;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.GraphVertex;
import org.deeplearning4j.nn.graph.vertex.impl.ElementWiseVertex;
import org.deeplearning4j.nn.layers.normalization.BatchNormalization;
import org.deeplearning4j.nn.params.BatchNormalizationParamInitializer;
import org.deeplearning4j.zoo.model.ResNet50;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;

import static io.paratrain.sparktrainer.Networks.relativeDifference;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A graph from DL4J's model zoo, ResNet50 ({@code deeplearning4j-zoo}, built from its configuration with
 * {@code init()}: no pretrained weights), trained a few steps by N replicas x batch b through
 * {@link DataParallelTrainer} against single-process {@code ComputationGraph.fit} at batch N x b on the same examples
 * in the same order: 53 BatchNormalization layers (synchronized), 16 ElementWiseVertex Add skip connections, zero
 * padding, convolutions in Truncate and Same mode, max pooling and the zoo's own updater (RmsProp), L1 and L2. The
 * replicas' parameters are compared bit for bit after every step ({@code checksumEverySteps(1)}).
 * <p>
 * The tolerance is not the README's 1e-5: ResNet50's float32 gradient is determined to a few percent only. DL4J's
 * own single-process gradient on one batch moves by 1.8-6% (relative, norm) when the same examples come in another
 * order within the batch, and by 1.8-3.8% against the same graph in double precision (measured at 133 and 197
 * pixels, 4 and 8 examples, with the zoo's weight initialisation, He and Xavier). So the test measures that floor in
 * the same run, single-process DL4J on the same batches with each batch's examples reversed (same math, float sums
 * in another order), and asserts that the data-parallel model is as close to DL4J's as DL4J is to itself:
 * within {@value #FLOOR_FACTOR} x the floor, per quantity. The first step's loss (the forward pass on identical
 * parameters, through every synchronized BatchNormalization and skip connection) is asserted at 1e-5.
 * <p>
 * Input 3 x 133 x 133, the smallest this ResNet50 takes: it halves the side six times (stem convolution and
 * pooling, and a stride-2 shortcut in each of its four stages, the first one included) and ends in a 3 x 3 max
 * pooling, so its last stage must see at least 3 x 3. Only the output layer's width depends on the 4 classes, so
 * the graph keeps all of ResNet50's 23.6 million parameters; the small side and two examples per replica keep a
 * step cheap, and two steps per case (the second one uneven, a replica sitting it out): 29-42 s per case on the
 * shared 2-core machine, 79-89 s when it was busier; most of it the fit's start (replicas of 23.6 million
 * parameters) and the three models' steps.
 */
@Tag("slow") // 70-170 s on the 2-core machine: a ResNet50 at 133 x 133, four fits
@Timeout(600)
class ZooModelEquivalenceTest
{
    /** The README's stated tolerance for float32 training: the first step's loss (identical parameters). */
    private static final double TOLERANCE = 1e-5;
    /** Data parallel against DL4J, relative to DL4J against itself with each batch's examples reordered. */
    private static final double FLOOR_FACTOR = 3;
    private static final int BATCH_PER_WORKER = 2;
    private static final int CHANNELS = 3;
    private static final int SIDE = 133;
    private static final int CLASSES = 4;
    @RegisterExtension
    static final LocalSpark SPARK = new LocalSpark(3);

    static Stream<Arguments> cases()
    {
        return Stream.of(
            Arguments.of(2, 1, 1, true),    // a last step of 1 example: one replica sits it out
            Arguments.of(3, 1, 2, false));  // a last step of 2 < 3 examples: one replica sits it out
    }

    /**
     * @param sharded the sharded optimizer step (ResNet50 qualifies: RmsProp, L1 and L2 are element-wise, no
     *                gradient normalization), or DL4J's whole update on every replica.
     */
    @ParameterizedTest(name = "ResNet50 workers={0} fullSteps={1} extraExamples={2} sharded={3}")
    @MethodSource("cases")
    void resNet50TrainsAsOneProcessWithTheCombinedBatch(final int workers, final int fullSteps,
        final int extraExamples, final boolean sharded)
    {
        final long startNs = System.nanoTime();
        final int globalBatch = workers * BATCH_PER_WORKER;
        final List<DataSet> examples = images(fullSteps * globalBatch + extraExamples, 71 + workers);
        final ComputationGraph reference = resNet50(81 + workers);
        assertEquals(53, countLayers(reference, BatchNormalization.class), "BatchNormalization layers");
        assertEquals(16, Arrays.stream(reference.getVertices()).filter(v -> v instanceof ElementWiseVertex).count(),
            "ElementWiseVertex skip connections");
        final ComputationGraph distributed = reference.clone();
        final ComputationGraph reordered = reference.clone();
        assertTrue(ShardedUpdate.supportFor(NetworkModel.of(distributed)).isEmpty(),
            "the graph must be able to take the sharded path");
        final INDArray initial = reference.params().dup();
        final INDArray initialMeans = runningStatistics(reference, BatchNormalizationParamInitializer.GLOBAL_MEAN);
        final List<Double> referenceLosses = new ArrayList<>();
        for (final DataSet batch : Networks.minibatches(examples, globalBatch))
        {
            reference.fit(batch);
            referenceLosses.add(reference.score());
        }
        reference.incrementEpochCount();
        for (final DataSet batch : Networks.minibatches(examples, globalBatch))
        {
            reordered.fit(reversed(batch));
        }
        reordered.incrementEpochCount();
        final List<StepMetrics> steps = new CopyOnWriteArrayList<>();
        final TrainingSummary summary = new DataParallelTrainer(SPARK.sc(), TrainerConfig.builder()
            .workers(workers)
            .batchSizePerWorker(BATCH_PER_WORKER)
            .epochs(1)
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
            })
            .fit(distributed, SPARK.sc().parallelize(Networks.minibatches(examples, 3), 2));

        assertEquals(fullSteps + 1, summary.stepsPerEpoch());
        assertEquals(reference.getIterationCount(), distributed.getIterationCount(), "iteration count");
        assertEquals(1, distributed.getEpochCount(), "epoch count");
        assertEquals(referenceLosses.size(), steps.size(), "steps reported");
        final double firstLoss = Math.abs(steps.get(0).loss() - referenceLosses.get(0)) / referenceLosses.get(0);
        final double change = reference.params().sub(initial).norm2Number().doubleValue();
        final double meansChange = runningStatistics(reference, BatchNormalizationParamInitializer.GLOBAL_MEAN)
            .sub(initialMeans).norm2Number().doubleValue();
        final Differences measured = Differences.between(reference, distributed);
        final Differences floor = Differences.between(reference, reordered);
        System.out.printf("ResNet50 (zoo, %dx%dx%d, %d classes, %d parameters) workers=%d sharded=%b, %d steps: " +
            "first step loss relative difference %.3g (tolerance %.0e); relative difference to DL4J %s; DL4J to " +
            "itself with each batch reversed %s (tolerance %.0f x that); %.1f s%n", CHANNELS, SIDE, SIDE, CLASSES,
            reference.numParams(), workers, sharded, steps.size(), firstLoss, TOLERANCE, measured, floor, FLOOR_FACTOR,
            (System.nanoTime() - startNs) / 1e9);
        assertTrue(change > 1e-2, "training must have moved the parameters (moved " + change + ")");
        assertTrue(meansChange > 1e-3, "training must have moved the running means (moved " + meansChange + ")");
        assertTrue(firstLoss <= TOLERANCE, "first step loss: relative difference " + firstLoss);
        assertWithinFloor("parameters", measured.parameters(), floor.parameters());
        assertWithinFloor("updater state", measured.updaterState(), floor.updaterState());
        assertWithinFloor("running mean", measured.runningMean(), floor.runningMean());
        assertWithinFloor("running log10 std", measured.runningLogStd(), floor.runningLogStd());
    }

    private static void assertWithinFloor(final String what, final double measured, final double floor)
    {
        assertTrue(measured <= FLOOR_FACTOR * floor, what + ": relative difference " + measured + " > " +
            FLOOR_FACTOR + " x " + floor + " (DL4J against itself with the examples reordered)");
    }

    /** Relative differences (norm) of one trained graph's state against the reference's. */
    private record Differences(double parameters, double updaterState, double runningMean, double runningLogStd)
    {
        static Differences between(final ComputationGraph reference, final ComputationGraph other)
        {
            return new Differences(relativeDifference(reference.params(), other.params()),
                relativeDifference(reference.getUpdater().getStateViewArray(), other.getUpdater().getStateViewArray()),
                relativeDifference(runningStatistics(reference, BatchNormalizationParamInitializer.GLOBAL_MEAN),
                    runningStatistics(other, BatchNormalizationParamInitializer.GLOBAL_MEAN)),
                relativeDifference(runningStatistics(reference, BatchNormalizationParamInitializer.GLOBAL_LOG_STD),
                    runningStatistics(other, BatchNormalizationParamInitializer.GLOBAL_LOG_STD)));
        }

        @Override
        public String toString()
        {
            return String.format("parameters %.3g, updater state %.3g, running mean %.3g, running log10 std %.3g",
                parameters, updaterState, runningMean, runningLogStd);
        }
    }

    /** The same examples in reverse order. */
    private static DataSet reversed(final DataSet batch)
    {
        final int n = batch.numExamples();
        final int[] order = new int[n];
        for (int i = 0; i < n; i++)
        {
            order[i] = n - 1 - i;
        }
        final INDArray features = batch.getFeatures();
        final INDArray rows = Nd4j.pullRows(features.reshape(n, -1), 1, order);
        return new DataSet(rows.reshape(features.shape()), Nd4j.pullRows(batch.getLabels(), 1, order));
    }

    /** The zoo's ResNet50 with its own updater, weight initialisation and regularization; only size and seed set. */
    private static ComputationGraph resNet50(final long seed)
    {
        return ResNet50.builder()
            .seed(seed)
            .numClasses(CLASSES)
            .inputShape(new int[] {CHANNELS, SIDE, SIDE})
            .build()
            .init();
    }

    /**
     * {@code count} single images (NCHW) with a learnable pattern: the class is the brightest of the four quadrants
     * of the first channel.
     */
    private static List<DataSet> images(final int count, final long seed)
    {
        final Random random = new Random(seed);
        final List<DataSet> examples = new ArrayList<>(count);
        final int half = SIDE / 2;
        for (int i = 0; i < count; i++)
        {
            final int label = random.nextInt(CLASSES);
            final float[] x = new float[CHANNELS * SIDE * SIDE];
            for (int c = 0; c < CHANNELS; c++)
            {
                for (int h = 0; h < SIDE; h++)
                {
                    for (int w = 0; w < SIDE; w++)
                    {
                        final int quadrant = (h < half ? 0 : 2) + (w < half ? 0 : 1);
                        x[(c * SIDE + h) * SIDE + w] = (float)random.nextGaussian() +
                            (c == 0 && quadrant == label ? 1f : 0f);
                    }
                }
            }
            final float[] y = new float[CLASSES];
            y[label] = 1;
            examples.add(new DataSet(Nd4j.create(x, 1, CHANNELS, SIDE, SIDE), Nd4j.create(y, 1, CLASSES)));
        }
        return examples;
    }

    private static long countLayers(final ComputationGraph graph, final Class<?> type)
    {
        return Arrays.stream(graph.getLayers()).filter(type::isInstance).count();
    }

    /** One running statistic of every BatchNormalization layer, in the graph's topological order, as one vector. */
    private static INDArray runningStatistics(final ComputationGraph graph, final String name)
    {
        final GraphVertex[] vertices = graph.getVertices();
        final List<INDArray> parts = new ArrayList<>();
        for (final int index : graph.topologicalSortOrder())
        {
            final Layer layer = vertices[index].hasLayer() ? vertices[index].getLayer() : null;
            if (layer instanceof BatchNormalization)
            {
                parts.add(layer.getParam(name).reshape(1, -1));
            }
        }
        return Nd4j.hstack(parts.toArray(new INDArray[0]));
    }
}
