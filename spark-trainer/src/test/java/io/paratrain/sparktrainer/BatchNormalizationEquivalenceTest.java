package io.paratrain.sparktrainer;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.params.BatchNormalizationParamInitializer;
import org.deeplearning4j.nn.weights.WeightInit;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.Nesterovs;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import static io.paratrain.sparktrainer.Networks.relativeDifference;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * BatchNormalization trained by N replicas x batch b equals single-process DL4J at batch N x b: the replicas
 * normalize with the statistics of the whole global batch (synchronized batch normalization) and update the
 * running mean and variance once from them. Before, each replica normalized with its own slice's statistics and
 * the sum all-reduce moved the running statistics N times too far: relative difference 0.19, silently.
 * <p>
 * The replicas' parameters are compared bit for bit after every step (CRC32C of the raw bytes,
 * {@code checksumEverySteps(1)}); a mismatch fails the fit.
 */
@Timeout(300)
class BatchNormalizationEquivalenceTest
{
    /** The README's stated tolerance for float32 training (the MLP tests measure ~1e-7). */
    private static final double TOLERANCE = 1e-5;
    private static final int BATCH_PER_WORKER = 8;
    private static final int SIDE = 8;
    private static final int CLASSES = 4;
    @RegisterExtension
    static final LocalSpark SPARK = new LocalSpark(3);

    static Stream<Arguments> cases()
    {
        return Stream.of(
            Arguments.of("cnn-nchw", 2, 10, 3, true),   // a last step of 3 examples: slices of 2 and 1
            Arguments.of("cnn-nchw", 3, 8, 2, false),   // a last step of 2 < 3 examples: one replica sits it out
            Arguments.of("cnn-nhwc", 2, 8, 1, true),    // one replica sits the last step out
            Arguments.of("mlp", 2, 12, 1, false),
            Arguments.of("mlp", 3, 10, 5, true),
            Arguments.of("mlp-fixed", 3, 10, 1, true),  // two replicas sit the last step out
            Arguments.of("mlp-fixed", 2, 10, 3, false));
    }

    /**
     * @param model    "cnn-nchw" / "cnn-nhwc": {@link #cnn}; "mlp": {@link #mlp} with learned gamma and beta and the
     *                 running variance stored as log10 std (DL4J's default); "mlp-fixed": fixed gamma and beta and
     *                 the running variance stored as variance.
     * @param sharded  the sharded optimizer step, or DL4J's whole update on every replica.
     */
    @ParameterizedTest(name = "{0} workers={1} fullSteps={2} extraExamples={3} sharded={4}")
    @MethodSource("cases")
    void batchNormalizationTrainsAsOneProcessWithTheCombinedBatch(final String model, final int workers,
        final int fullSteps, final int extraExamples, final boolean sharded)
    {
        final int globalBatch = workers * BATCH_PER_WORKER;
        final boolean cnn = model.startsWith("cnn");
        final CNN2DFormat format = "cnn-nhwc".equals(model) ? CNN2DFormat.NHWC : CNN2DFormat.NCHW;
        final List<DataSet> examples = cnn ? images(fullSteps * globalBatch + extraExamples, 31)
            : Networks.examples(fullSteps * globalBatch + extraExamples, 31);
        final MultiLayerNetwork reference = cnn ? cnn(format) : mlp("mlp-fixed".equals(model));
        final MultiLayerNetwork distributed = reference.clone();
        final INDArray initial = reference.params().dup();
        final int epochs = 2;
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            for (final DataSet batch : Networks.minibatches(examples, globalBatch))
            {
                reference.fit(batch);
            }
        }
        new DataParallelTrainer(SPARK.sc(), TrainerConfig.builder()
            .workers(workers)
            .batchSizePerWorker(BATCH_PER_WORKER)
            .epochs(epochs)
            .checksumEverySteps(1)
            .shardedUpdate(sharded)
            .build())
            .fit(distributed, SPARK.sc().parallelize(Networks.minibatches(examples, 5), 2));

        assertEquals(reference.getIterationCount(), distributed.getIterationCount());
        // the synchronized layers live in the replicas only: the user's network keeps its configuration and helpers
        for (int i = 0; i < reference.getnLayers(); i++)
        {
            assertEquals(helperClass(reference.getLayer(i)), helperClass(distributed.getLayer(i)), "layer " + i);
            if (distributed.getLayer(i).getConfig() instanceof BatchNormalization layer)
            {
                assertTrue(layer.isCudnnAllowFallback(), "layer " + i + " configuration changed");
            }
        }
        final double change = reference.params().sub(initial).norm2Number().doubleValue();
        final double relative = relativeDifference(reference.params(), distributed.params());
        final double runningMean = relativeDifference(runningStatistic(reference,
            BatchNormalizationParamInitializer.GLOBAL_MEAN), runningStatistic(distributed,
            BatchNormalizationParamInitializer.GLOBAL_MEAN));
        final String spread = "mlp-fixed".equals(model) ? BatchNormalizationParamInitializer.GLOBAL_VAR
            : BatchNormalizationParamInitializer.GLOBAL_LOG_STD;
        final double runningVar = relativeDifference(runningStatistic(reference, spread),
            runningStatistic(distributed, spread));
        System.out.printf("batchnorm %s workers=%d: relative difference parameters %.3g, running mean %.3g, " +
            "running %s %.3g (tolerance %.0e)%n", model, workers, relative, runningMean, spread, runningVar, TOLERANCE);
        assertTrue(change > 1e-2, "training must have moved the parameters (moved " + change + ")");
        assertTrue(relative <= TOLERANCE, "parameters: relative difference " + relative + " > " + TOLERANCE);
        assertTrue(runningMean <= TOLERANCE, "running mean: relative difference " + runningMean);
        assertTrue(runningVar <= TOLERANCE, "running " + spread + ": relative difference " + runningVar);
    }

    private static Class<?> helperClass(final Layer layer)
    {
        return layer.getHelper() == null ? null : layer.getHelper().getClass();
    }

    /** The named running statistic of every BatchNormalization layer of the network, concatenated. */
    private static INDArray runningStatistic(final MultiLayerNetwork network, final String name)
    {
        final List<INDArray> statistics = new ArrayList<>();
        for (int i = 0; i < network.getnLayers(); i++)
        {
            if (network.getLayer(i) instanceof org.deeplearning4j.nn.layers.normalization.BatchNormalization)
            {
                statistics.add(network.getParam(i + "_" + name));
            }
        }
        assertTrue(!statistics.isEmpty(), "no BatchNormalization layer");
        return Nd4j.hstack(statistics.toArray(new INDArray[0]));
    }

    /**
     * Convolution, BatchNormalization, max pooling, dense and softmax on 8x8 single-channel images. The layer before
     * BatchNormalization has no bias, as usual: normalization cancels a bias exactly, so its gradient is rounding
     * noise around zero, which Adam scales up to full-size steps; a bias there random-walks differently in any two
     * summation orders (measured: running mean 0.06 apart, all else 1e-7), one process against another included.
     */
    static MultiLayerNetwork cnn(final CNN2DFormat format)
    {
        final MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder()
            .seed(77)
            .dataType(DataType.FLOAT)
            .updater(new Adam(0.01))
            .weightInit(WeightInit.XAVIER)
            .list()
            .layer(new ConvolutionLayer.Builder(3, 3).nOut(4).dataFormat(format).activation(Activation.IDENTITY)
                .hasBias(false).build())
            .layer(new BatchNormalization.Builder().dataFormat(format).activation(Activation.RELU).build())
            .layer(new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX).kernelSize(2, 2).stride(2, 2)
                .dataFormat(format).build())
            .layer(new DenseLayer.Builder().nOut(16).activation(Activation.TANH).build())
            .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(CLASSES)
                .activation(Activation.SOFTMAX).build())
            .setInputType(InputType.convolutionalFlat(SIDE, SIDE, 1))
            .build();
        final MultiLayerNetwork network = new MultiLayerNetwork(conf);
        network.init();
        return network;
    }

    /**
     * A dense MLP with two BatchNormalization layers of different widths (so that a replica sitting a step out must
     * make its all-reduces in the layers' order), no bias before them (see {@link #cnn}). {@code fixed}: gamma and
     * beta fixed (both away from 1 and 0: DL4J's built-in layer applies neither when one of them has its default
     * value) and the running variance stored as variance.
     * <p>
     * With learned gamma and beta it trains with Nesterovs, not Adam: the second normalization cancels most of
     * what the first layer's beta does, so that beta's gradient is mostly rounding noise, and Adam (which divides
     * by the gradient's own running scale) turns noise into full-size steps: two summation orders then end ~0.005
     * apart on that beta and on the running mean behind it, all else 1e-7 (measured).
     */
    static MultiLayerNetwork mlp(final boolean fixed)
    {
        final MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder()
            .seed(78)
            .dataType(DataType.FLOAT)
            .updater(fixed ? new Adam(0.01) : new Nesterovs(0.05, 0.9))
            .weightInit(WeightInit.XAVIER)
            .list()
            .layer(new DenseLayer.Builder().nIn(Networks.FEATURES).nOut(16).activation(Activation.IDENTITY)
                .hasBias(false).build())
            .layer(batchNormalization(16, fixed, Activation.TANH))
            .layer(new DenseLayer.Builder().nIn(16).nOut(10).activation(Activation.IDENTITY).hasBias(false).build())
            .layer(batchNormalization(10, fixed, Activation.RELU))
            .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(10).nOut(Networks.CLASSES)
                .activation(Activation.SOFTMAX).build())
            .build();
        final MultiLayerNetwork network = new MultiLayerNetwork(conf);
        network.init();
        return network;
    }

    private static BatchNormalization batchNormalization(final int width, final boolean fixed,
        final Activation activation)
    {
        final BatchNormalization.Builder builder = new BatchNormalization.Builder().nOut(width).activation(activation);
        return (fixed ? builder.lockGammaBeta(true).gamma(1.5).beta(0.25).useLogStd(false) : builder).build();
    }

    /**
     * {@code count} single-channel 8x8 images, flat (the network's preprocessor shapes them; NCHW features are
     * tested in ShapedDataEquivalenceTest): the class is the brightest quadrant.
     */
    static List<DataSet> images(final int count, final long seed)
    {
        final Random random = new Random(seed);
        final List<DataSet> examples = new ArrayList<>(count);
        for (int i = 0; i < count; i++)
        {
            final float[] pixels = new float[SIDE * SIDE];
            final float[] quadrant = new float[CLASSES];
            for (int p = 0; p < pixels.length; p++)
            {
                pixels[p] = (float)(random.nextGaussian() * 0.5 + 1);
                quadrant[(p / SIDE >= SIDE / 2 ? 2 : 0) + (p % SIDE >= SIDE / 2 ? 1 : 0)] += pixels[p];
            }
            int label = 0;
            for (int c = 1; c < CLASSES; c++)
            {
                label = quadrant[c] > quadrant[label] ? c : label;
            }
            final float[] y = new float[CLASSES];
            y[label] = 1;
            examples.add(new DataSet(Nd4j.create(pixels, 1, SIDE * SIDE), Nd4j.create(y, 1, CLASSES)));
        }
        return examples;
    }
}
