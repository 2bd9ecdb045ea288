package io.paratrain.sparktrainer.internal.batchnorm;

import io.paratrain.sparktrainer.internal.snapshot.NetworkModel;
import io.paratrain.gradientsharing.Collective;
import io.paratrain.gradientsharing.TestRing;
import io.paratrain.gradientsharing.Transport;
import io.paratrain.gradientsharing.exceptions.CollectiveTimeoutException;
import io.paratrain.sparktrainer.internal.dataparallel.ReplicaStep;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.misc.FrozenLayerWithBackprop;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.params.BatchNormalizationParamInitializer;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One BatchNormalization layer, its batch cut into contiguous slices over a ring of replicas (threads in this JVM):
 * the replicas' activations and input gradients, put back together, equal DL4J's single-process layer on the
 * whole batch; their gamma/beta gradients add up to DL4J's; the running-statistics "gradient" is DL4J's on every
 * replica and, after {@link SyncBatchNorm#prepareContribution}, rank 0's alone. A replica without examples takes
 * part through {@link SyncBatchNorm#sitOut}.
 */
@Timeout(120)
class SyncBatchNormTest
{
    private static final int CHANNELS = 3;
    /**
     * Float32 sums in another order, relative to the largest expected value (at least 1): measured up to 3e-7
     * (1.9e-6 on gamma's gradient of magnitude ~6).
     */
    private static final double TOLERANCE = 1e-6;
    private static final LayerWorkspaceMgr NO_WORKSPACES = LayerWorkspaceMgr.noWorkspaces();

    @TempDir
    Path driverBase;

    @ParameterizedTest(name = "rank={0} format={1} slices={2}")
    @CsvSource({
        "2, NCHW, 3;2;2",
        "4, NCHW, 3;2;2",
        "4, NHWC, 4;3",
        "2, NCHW, 1;1;0",   // the third replica sits the step out
        "4, NHWC, 1;0"})
    void slicesTogetherComputeWhatOneProcessComputesOnTheWholeBatch(final int rank, final CNN2DFormat format,
        final String slicesText) throws Exception
    {
        final int[] slices = Arrays.stream(slicesText.split(";")).mapToInt(Integer::parseInt).toArray();
        final int examples = Arrays.stream(slices).sum();
        final MultiLayerNetwork reference = network(format, rank == 4);
        final long[] shape = rank == 2 ? new long[] {examples, CHANNELS}
            : format == CNN2DFormat.NCHW ? new long[] {examples, CHANNELS, 3, 2} : new long[] {examples, 3, 2, CHANNELS};
        Nd4j.getRandom().setSeed(5);
        final INDArray x = Nd4j.randn(DataType.FLOAT, shape).muli(1.5).addi(0.7);
        final INDArray gradientIn = Nd4j.randn(DataType.FLOAT, shape);
        final Layer referenceLayer = reference.getLayer(0);
        referenceLayer.setInput(x, NO_WORKSPACES);
        final INDArray expectedOut = referenceLayer.activate(true, NO_WORKSPACES).dup();
        final Pair<Gradient, INDArray> expected = referenceLayer.backpropGradient(gradientIn, NO_WORKSPACES);

        try (TestRing ring = TestRing.connect(TestRing.config(driverBase, Transport.AUTO).build(), slices.length))
        {
            final List<Replica> replicas = ring.onEveryRank(r ->
                replica(reference, ring.ranks.get(r), x, gradientIn, slices));
            final List<INDArray> outs = new ArrayList<>();
            final List<INDArray> gradientsOut = new ArrayList<>();
            for (int r = 0; r < slices.length; r++)
            {
                if (slices[r] > 0)
                {
                    outs.add(replicas.get(r).out());
                    gradientsOut.add(replicas.get(r).gradientOut());
                }
            }
            assertClose(expectedOut, Nd4j.concat(0, outs.toArray(new INDArray[0])), "activations");
            assertClose(expected.getSecond(), Nd4j.concat(0, gradientsOut.toArray(new INDArray[0])),
                "gradient at the input");
            final String[] learned = {BatchNormalizationParamInitializer.GAMMA, BatchNormalizationParamInitializer.BETA};
            for (int p = 0; p < learned.length; p++)
            {
                INDArray sum = Nd4j.zeros(DataType.FLOAT, 1, CHANNELS);
                for (final Replica replica : replicas)
                {
                    sum = sum.add(replica.flatGradient().get(NDArrayIndex.point(0),
                        NDArrayIndex.interval(p * CHANNELS, (p + 1) * CHANNELS)).reshape(1, CHANNELS));
                }
                assertClose(expected.getFirst().getGradientFor(learned[p]), sum, learned[p] + " summed");
            }
            final INDArray expectedRunning = Nd4j.hstack(
                expected.getFirst().getGradientFor(BatchNormalizationParamInitializer.GLOBAL_MEAN),
                expected.getFirst().getGradientFor(BatchNormalizationParamInitializer.GLOBAL_LOG_STD));
            final INDArray running = replicas.get(0).flatGradient().get(NDArrayIndex.point(0),
                NDArrayIndex.interval(2 * CHANNELS, 4 * CHANNELS)).reshape(1, 2 * CHANNELS);
            assertClose(expectedRunning, running, "running statistics' gradient of rank 0");
            for (int r = 1; r < slices.length; r++)
            {
                final INDArray theirs = replicas.get(r).flatGradient().get(NDArrayIndex.point(0),
                    NDArrayIndex.interval(2 * CHANNELS, 4 * CHANNELS));
                assertEquals(0, theirs.norm1Number().doubleValue(), "rank " + r + " contributes no running statistics");
            }
        }
    }

    /**
     * Contributions to the step's sum all-reduce, exactly: a synchronized layer's running statistics from rank 0
     * alone; a parameter outside the updater's division in a layer that is not synchronized (here a
     * BatchNormalization inside a wrapper) averaged, value / N from each; every other gradient untouched.
     */
    @org.junit.jupiter.api.Test
    void runningStatisticsComeFromRankZeroAndUnsynchronizedOnesAreAveraged() throws Exception
    {
        final MultiLayerNetwork network = new MultiLayerNetwork(new NeuralNetConfiguration.Builder()
            .dataType(DataType.FLOAT)
            .list()
            .layer(new FrozenLayerWithBackprop(new BatchNormalization.Builder().nIn(CHANNELS).nOut(CHANNELS).build()))
            .layer(new BatchNormalization.Builder().nIn(CHANNELS).nOut(CHANNELS).build())
            .build());
        network.init();
        network.getUpdater();
        try (TestRing ring = TestRing.connect(TestRing.config(driverBase, Transport.AUTO).build(), 2))
        {
            final List<float[]> contributions = ring.onEveryRank(rank ->
            {
                final MultiLayerNetwork replica = network.clone();
                final SyncBatchNorm batchNorm = SyncBatchNorm.installIfNeeded(NetworkModel.of(replica), ring.ranks.get(rank));
                final INDArray gradient = replica.getFlattenedGradients(); // made with the replica's updater
                gradient.assign(3);
                batchNorm.prepareContribution(gradient);
                return gradient.toFloatVector();
            });
            final float[] wrapped = {3, 3, 3, 3, 3, 3, 1.5f, 1.5f, 1.5f, 1.5f, 1.5f, 1.5f};
            for (int rank = 0; rank < 2; rank++)
            {
                final float[] expected = new float[8 * CHANNELS];
                System.arraycopy(wrapped, 0, expected, 0, wrapped.length);
                Arrays.fill(expected, 4 * CHANNELS, 6 * CHANNELS, 3f);                    // gamma, beta
                Arrays.fill(expected, 6 * CHANNELS, 8 * CHANNELS, rank == 0 ? 3f : 0f);   // running statistics
                assertArrayEquals(expected, contributions.get(rank), "rank " + rank);
            }
        }
    }

    /**
     * In a ComputationGraph the updater's blocks hold the layers' vertices, not the layers: the synchronized layer's
     * running statistics still come from rank 0 alone (not averaged as an unsynchronized layer's would be). A chain
     * in -> dense (2 x 3, no bias) -> bn (3) -> out (3 x 2 + 2): flat gradient [dense W 6 | gamma 3, beta 3, mean 3,
     * log10 std 3 | out W 6, b 2] in topological order.
     */
    @org.junit.jupiter.api.Test
    void inAGraphTooTheRunningStatisticsComeFromRankZero() throws Exception
    {
        final ComputationGraph graph = new ComputationGraph(new NeuralNetConfiguration.Builder()
            .dataType(DataType.FLOAT)
            .graphBuilder()
            .addInputs("in")
            .addLayer("dense", new DenseLayer.Builder().nIn(2).nOut(CHANNELS).hasBias(false).build(), "in")
            .addLayer("bn", new BatchNormalization.Builder().nOut(CHANNELS).build(), "dense")
            .addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(CHANNELS).nOut(2)
                .activation(Activation.SOFTMAX).build(), "bn")
            .setOutputs("out")
            .build());
        graph.init();
        graph.getUpdater();
        try (TestRing ring = TestRing.connect(TestRing.config(driverBase, Transport.AUTO).build(), 2))
        {
            final List<float[]> contributions = ring.onEveryRank(rank ->
            {
                final NetworkModel replica = NetworkModel.of(graph.clone());
                final SyncBatchNorm batchNorm = SyncBatchNorm.installIfNeeded(replica, ring.ranks.get(rank));
                final INDArray gradient = replica.flattenedGradients();
                gradient.assign(3);
                batchNorm.prepareContribution(gradient);
                return gradient.toFloatVector();
            });
            for (int rank = 0; rank < 2; rank++)
            {
                final float[] expected = new float[6 + 4 * CHANNELS + 8];
                Arrays.fill(expected, 3f);
                Arrays.fill(expected, 6 + 2 * CHANNELS, 6 + 4 * CHANNELS, rank == 0 ? 3f : 0f); // running statistics
                assertArrayEquals(expected, contributions.get(rank), "rank " + rank);
            }
        }
    }

    /**
     * A replica whose peer never reaches the forward pass's all-reduce fails the step with the collective's typed
     * timeout (which names the operation and the peer), not with DL4J's wrapper that blames cuDNN.
     */
    @org.junit.jupiter.api.Test
    void aPeerThatNeverArrivesFailsTheStepWithTheCollectiveTimeout() throws Exception
    {
        final MultiLayerNetwork network = new MultiLayerNetwork(new NeuralNetConfiguration.Builder()
            .dataType(DataType.FLOAT)
            .list()
            .layer(new DenseLayer.Builder().nIn(CHANNELS).nOut(CHANNELS).hasBias(false).build())
            .layer(new BatchNormalization.Builder().nOut(CHANNELS).build())
            .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(CHANNELS).nOut(2)
                .activation(Activation.SOFTMAX).build())
            .build());
        network.init();
        final DataSet batch = new DataSet(Nd4j.rand(DataType.FLOAT, 4, CHANNELS),
            Nd4j.createFromArray(new float[][] {{1, 0}, {0, 1}, {1, 0}, {0, 1}}));
        try (TestRing ring = TestRing.connect(TestRing.config(driverBase, Transport.AUTO).timeoutMs(1_500).build(), 2))
        {
            final List<Throwable> failures = ring.failuresOnEveryRank(rank -> rank == 0
                ? new ReplicaStep(NetworkModel.of(network), ring.ranks.get(0), null).run(batch.toMultiDataSet(), 8) : null);
            final CollectiveTimeoutException timeout = assertInstanceOf(CollectiveTimeoutException.class,
                failures.get(0));
            assertEquals(1, timeout.peerRank(), timeout.getMessage());
            assertEquals(null, failures.get(1));
        }
    }

    private record Replica(INDArray out, INDArray gradientOut, INDArray flatGradient)
    {
    }

    /** One replica's forward and backward pass on its slice, through the helper SyncBatchNorm installs. */
    private static Replica replica(final MultiLayerNetwork reference, final Collective collective, final INDArray x,
        final INDArray gradientIn, final int[] slices)
    {
        final MultiLayerNetwork network = reference.clone();
        final SyncBatchNorm batchNorm = SyncBatchNorm.installIfNeeded(NetworkModel.of(network), collective);
        int from = 0;
        for (int r = 0; r < collective.rank(); r++)
        {
            from += slices[r];
        }
        final int count = slices[collective.rank()];
        final INDArray flatGradient = network.getFlattenedGradients();
        if (count == 0)
        {
            batchNorm.sitOut();
            flatGradient.assign(0);
            return new Replica(null, null, flatGradient.dup());
        }
        final Layer layer = network.getLayer(0);
        final INDArray slice = x.get(NDArrayIndex.interval(from, from + count)).dup();
        layer.setInput(slice, NO_WORKSPACES);
        final INDArray out = layer.activate(true, NO_WORKSPACES).dup();
        final INDArray gradientOut = layer.backpropGradient(gradientIn.get(NDArrayIndex.interval(from,
            from + count)).dup(), NO_WORKSPACES).getSecond().dup();
        batchNorm.prepareContribution(flatGradient);
        return new Replica(out, gradientOut, flatGradient.dup());
    }

    /** A network of one BatchNormalization layer with gamma, beta and running statistics away from their defaults. */
    private static MultiLayerNetwork network(final CNN2DFormat format, final boolean convolutional)
    {
        final MultiLayerNetwork network = new MultiLayerNetwork(new NeuralNetConfiguration.Builder()
            .dataType(DataType.FLOAT)
            .list()
            .layer(new BatchNormalization.Builder().nIn(CHANNELS).nOut(CHANNELS)
                .dataFormat(convolutional ? format : CNN2DFormat.NCHW).build())
            .build());
        network.init();
        network.params().assign(Nd4j.createFromArray(1.5f, 0.5f, 2f, 0.1f, -0.2f, 0.3f, 0.4f, 0.6f, 0.8f, 0.05f,
            -0.1f, 0.2f).reshape(1, 4 * CHANNELS));
        network.getUpdater(); // the contributions are found from the updater's view of the parameters
        return network;
    }

    private static void assertClose(final INDArray expected, final INDArray actual, final String what)
    {
        assertArrayEquals(expected.shape(), actual.shape(), what + " shape");
        final double difference = actual.castTo(DataType.DOUBLE).sub(expected.castTo(DataType.DOUBLE))
            .amaxNumber().doubleValue();
        final double scale = Math.max(1, expected.amaxNumber().doubleValue());
        System.out.printf("sync batchnorm %s: max abs difference %.3g (scale %.3g)%n", what, difference, scale);
        assertTrue(difference <= TOLERANCE * scale, what + ": max abs difference " + difference + " > " +
            TOLERANCE + " x " + scale);
    }
}
