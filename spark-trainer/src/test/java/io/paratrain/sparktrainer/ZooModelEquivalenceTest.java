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

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A graph from DL4J's model zoo, ResNet50 ({@code deeplearning4j-zoo}, built from its configuration with
 * {@code init()}: no pretrained weights), trained a few steps by N replicas x batch b through
 * {@link DataParallelTrainer} equals single-process {@code ComputationGraph.fit} at batch N x b on the same examples
 * in the same order: 53 BatchNormalization layers (synchronized), 16 ElementWiseVertex Add skip connections,
 * zero padding, convolutions in Truncate and Same mode, max pooling and the zoo's own updater (RmsProp), L1 and L2.
 * The replicas' parameters are compared bit for bit after every step ({@code checksumEverySteps(1)}).
 * <p>
 * Input 3 x 133 x 133, the smallest this ResNet50 takes: it halves the side six times (stem convolution and
 * pooling, and a stride-2 shortcut in each of its four stages, the first one included) and ends in a 3 x 3 max
 * pooling, so its last stage must see at least 3 x 3. Only the output layer's width depends on the 4 classes, so
 * the graph keeps all of ResNet50's 23.5 million parameters; the small side keeps a step cheap (two examples per
 * replica).
 */
@Timeout(600)
class ZooModelEquivalenceTest
{
    /** The README's stated tolerance for float32 training, as ComputationGraphEquivalenceTest asserts. */
    private static final double TOLERANCE = 1e-5;
    private static final int BATCH_PER_WORKER = 2;
    private static final int CHANNELS = 3;
    private static final int SIDE = 133;
    private static final int CLASSES = 4;
    @RegisterExtension
    static final LocalSpark SPARK = new LocalSpark(3);

    static Stream<Arguments> cases()
    {
        return Stream.of(
            Arguments.of(2, 2, 1, true),    // a last step of 1 example: one replica sits it out
            Arguments.of(3, 2, 2, false));  // a last step of 2 < 3 examples: one replica sits it out
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
        double lossDifference = 0;
        for (int i = 0; i < steps.size(); i++)
        {
            lossDifference = Math.max(lossDifference, Math.abs(steps.get(i).loss() - referenceLosses.get(i)) /
                referenceLosses.get(i));
        }
        final double change = reference.params().sub(initial).norm2Number().doubleValue();
        final double meansChange = runningStatistics(reference, BatchNormalizationParamInitializer.GLOBAL_MEAN)
            .sub(initialMeans).norm2Number().doubleValue();
        final double relative = relativeDifference(reference.params(), distributed.params());
        final double updaterState = relativeDifference(reference.getUpdater().getStateViewArray(),
            distributed.getUpdater().getStateViewArray());
        final double runningMean = relativeDifference(
            runningStatistics(reference, BatchNormalizationParamInitializer.GLOBAL_MEAN),
            runningStatistics(distributed, BatchNormalizationParamInitializer.GLOBAL_MEAN));
        final double runningStd = relativeDifference(
            runningStatistics(reference, BatchNormalizationParamInitializer.GLOBAL_LOG_STD),
            runningStatistics(distributed, BatchNormalizationParamInitializer.GLOBAL_LOG_STD));
        System.out.printf("ResNet50 (zoo, %dx%dx%d, %d classes, %d parameters) workers=%d sharded=%b, %d steps: " +
            "relative difference parameters %.3g, updater state %.3g, running mean %.3g, running log10 std %.3g, " +
            "step loss (max) %.3g (tolerance %.0e); losses %s; %.1f s%n", CHANNELS, SIDE, SIDE, CLASSES,
            reference.numParams(), workers, sharded, steps.size(), relative, updaterState, runningMean, runningStd,
            lossDifference, TOLERANCE, referenceLosses, (System.nanoTime() - startNs) / 1e9);
        assertTrue(change > 1e-2, "training must have moved the parameters (moved " + change + ")");
        assertTrue(meansChange > 1e-3, "training must have moved the running means (moved " + meansChange + ")");
        assertTrue(lossDifference <= TOLERANCE, "step loss: relative difference " + lossDifference);
        assertTrue(relative <= TOLERANCE, "parameters: relative difference " + relative + " > " + TOLERANCE);
        assertTrue(updaterState <= TOLERANCE, "updater state: relative difference " + updaterState);
        assertTrue(runningMean <= TOLERANCE, "running mean: relative difference " + runningMean);
        assertTrue(runningStd <= TOLERANCE, "running log10 std: relative difference " + runningStd);
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

    private static double relativeDifference(final INDArray expected, final INDArray actual)
    {
        final double norm = expected.norm2Number().doubleValue();
        assertTrue(norm > 0, "the reference must not be all zeros");
        return actual.sub(expected).norm2Number().doubleValue() / norm;
    }
}
