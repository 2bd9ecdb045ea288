package io.paratrain.modelsplit;

import io.paratrain.gradientsharing.Collective;
import io.paratrain.gradientsharing.CollectiveConfig;
import io.paratrain.gradientsharing.FileRendezvous;
import io.paratrain.gradientsharing.RingRendezvous;
import org.bytedeco.javacpp.Pointer;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.nio.file.Path;

/**
 * A JVM of {@link SplitMemoryLimitTest}, started with JavaCPP's {@code maxphysicalbytes} set. Modes:
 * <ul>
 *   <li>{@code probe}: loads ND4J, builds a tiny network, prints {@code BASELINE <physical bytes>}.</li>
 *   <li>{@code single width steps}: {@code MultiLayerNetwork.fit} of the whole model; prints {@code TRAINED} or,
 *       when ND4J runs out of the allowed memory, {@code OUT_OF_MEMORY <message>}.</li>
 *   <li>{@code shard width steps rendezvousDir session rank worldSize}: one rank of {@link SplitRank#fresh}
 *       (every layer split); rank 0 fits {@code steps} times on one minibatch and prints {@code LOSS first last}; every rank
 *       prints {@code HELD <floats>} and {@code PHYSICAL <bytes>}.</li>
 * </ul>
 */
public final class MemoryLimitRank
{
    static final int INPUT = 64;
    static final int CLASSES = 10;
    static final int BATCH = 32;

    private MemoryLimitRank()
    {
    }

    /** 64-width-width-10, ReLU, softmax + MCXENT, Adam: parameters ~ width^2, updater state 2 width^2. */
    static MultiLayerConfiguration configuration(final int width)
    {
        return new NeuralNetConfiguration.Builder()
            .seed(7)
            .dataType(DataType.FLOAT)
            .weightInit(WeightInit.XAVIER)
            .updater(new Adam(1e-4))
            .list()
            .layer(new DenseLayer.Builder().nIn(INPUT).nOut(width).activation(Activation.RELU).build())
            .layer(new DenseLayer.Builder().nIn(width).nOut(width).activation(Activation.RELU).build())
            .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(width).nOut(CLASSES)
                .activation(Activation.SOFTMAX).build())
            .build();
    }

    /** Floats of parameters of the model: what values, gradients and Adam's two moments each take. */
    static long parameters(final int width)
    {
        return (long)INPUT * width + width + (long)width * width + width + (long)width * CLASSES + CLASSES;
    }

    /** Random features; the label of a row is the index of its largest of the first 10 features (learnable). */
    static DataSet minibatch(final int seed)
    {
        Nd4j.getRandom().setSeed(100 + seed);
        final INDArray features = Nd4j.rand(DataType.FLOAT, BATCH, INPUT);
        final INDArray labels = Nd4j.zeros(DataType.FLOAT, BATCH, CLASSES);
        for (int row = 0; row < BATCH; row++)
        {
            int best = 0;
            for (int c = 1; c < CLASSES; c++)
            {
                best = features.getFloat(row, c) > features.getFloat(row, best) ? c : best;
            }
            labels.putScalar(row, best, 1f);
        }
        return new DataSet(features, labels);
    }

    public static void main(final String[] args) throws Exception
    {
        switch (args[0])
        {
            case "probe" ->
            {
                final MultiLayerNetwork tiny = new MultiLayerNetwork(configuration(16));
                tiny.init();
                tiny.fit(minibatch(0));
                System.gc();
                System.out.println("BASELINE " + Pointer.physicalBytes());
            }
            case "single" -> single(Integer.parseInt(args[1]), Integer.parseInt(args[2]));
            case "shard" -> shard(Integer.parseInt(args[1]), Integer.parseInt(args[2]), Path.of(args[3]),
                Long.parseLong(args[4]), Integer.parseInt(args[5]), Integer.parseInt(args[6]));
            default -> throw new IllegalArgumentException("unknown mode " + args[0]);
        }
        System.out.flush();
        System.exit(0);
    }

    private static void single(final int width, final int steps)
    {
        try
        {
            final MultiLayerNetwork network = new MultiLayerNetwork(configuration(width));
            network.init();
            for (int step = 0; step < steps; step++)
            {
                network.fit(minibatch(0));
            }
            System.out.println("TRAINED score " + network.score());
        }
        catch (final OutOfMemoryError error)
        {
            // JavaCPP's limit: the message says which limit, and the physical bytes it saw.
            final Throwable cause = error.getCause() == null ? error : error.getCause();
            System.out.println("OUT_OF_MEMORY " + cause.getMessage());
        }
    }

    private static void shard(final int width, final int steps, final Path rendezvousDir, final long session,
                              final int rank, final int worldSize)
    {
        final CollectiveConfig config = CollectiveConfig.builder(session).timeoutMs(60_000)
            .driverBaseDir(rendezvousDir.resolveSibling("driver")).build();
        final RingRendezvous rendezvous = RingRendezvous.bind(config, rank, worldSize);
        try (Collective ring = rendezvous.connect(
            FileRendezvous.exchange(rendezvousDir, rank, worldSize, rendezvous.endpoint(), 60_000)))
        {
            final SplitRank splitRank = SplitRank.fresh(ring, configuration(width), SplitConfig.of(worldSize, 0, 1, 2));
            System.out.println("HELD " + splitRank.heldFloats());
            if (rank == 0)
            {
                final double first = splitRank.fit(minibatch(0));
                double last = first;
                for (int step = 1; step < steps; step++)
                {
                    last = splitRank.fit(minibatch(0));
                }
                splitRank.stop();
                System.out.println("LOSS " + first + " " + last);
            }
            else
            {
                splitRank.serve();
            }
            System.out.println("PHYSICAL " + Pointer.physicalBytes());
        }
    }
}
