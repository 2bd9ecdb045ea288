package io.paratrain.benchmarks;

import io.paratrain.sparktrainer.internal.snapshot.NetworkModel;
import io.paratrain.gradientsharing.Collective;
import io.paratrain.gradientsharing.CollectiveConfig;
import io.paratrain.gradientsharing.CollectiveStats;
import io.paratrain.gradientsharing.FileRendezvous;
import io.paratrain.gradientsharing.RingRendezvous;
import io.paratrain.modelsplit.SplitConfig;
import io.paratrain.modelsplit.SplitRank;
import io.paratrain.sparktrainer.internal.dataparallel.ReplicaStep;
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
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One rank of {@link SplitBenchmark}, in a JVM of its own. Arguments:
 * {@code mode rendezvousDir sessionId rank worldSize sizes batch warmup steps}, mode one of {@code dataparallel},
 * {@code split} (wide layers by columns), {@code split-paired} (Megatron pairs: columns then rows). Every step starts after a barrier (not counted); the rank prints
 * {@code STEP ms bytesSent bytesReceived} per timed step, counted by the collective's own stats around the step.
 */
public final class SplitBenchRank
{
    static final long SEED = 12345;
    private static final int DISTINCT_MINIBATCHES = 4;

    private SplitBenchRank()
    {
    }

    /** The benchmark's MLP: ReLU dense layers, softmax + MCXENT output, Adam; FLOAT. */
    static MultiLayerConfiguration configuration(final int[] sizes)
    {
        final NeuralNetConfiguration.ListBuilder list = new NeuralNetConfiguration.Builder()
            .seed(SEED)
            .dataType(DataType.FLOAT)
            .weightInit(WeightInit.XAVIER)
            .updater(new Adam(1e-3))
            .list();
        for (int l = 0; l < sizes.length - 2; l++)
        {
            list.layer(new DenseLayer.Builder().nIn(sizes[l]).nOut(sizes[l + 1]).activation(Activation.RELU).build());
        }
        list.layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(sizes[sizes.length - 2])
            .nOut(sizes[sizes.length - 1]).activation(Activation.SOFTMAX).build());
        return list.build();
    }

    /** A few fixed random minibatches (features in [0, 1), one-hot labels), cycled through by the steps. */
    static List<DataSet> minibatches(final int[] sizes, final int batch)
    {
        Nd4j.getRandom().setSeed(SEED + 1);
        final List<DataSet> minibatches = new ArrayList<>();
        for (int i = 0; i < DISTINCT_MINIBATCHES; i++)
        {
            final INDArray features = Nd4j.rand(DataType.FLOAT, batch, sizes[0]);
            final INDArray labels = Nd4j.zeros(DataType.FLOAT, batch, sizes[sizes.length - 1]);
            for (int row = 0; row < batch; row++)
            {
                labels.putScalar(row, (row * 7 + i) % sizes[sizes.length - 1], 1f);
            }
            minibatches.add(new DataSet(features, labels));
        }
        return minibatches;
    }

    /** The dense/output layers to split: every one with at least {@code threshold} weights, never the output when
     *  it is narrower than the shards. */
    static SplitConfig split(final int[] sizes, final int shards, final long threshold)
    {
        final List<Integer> layers = new ArrayList<>();
        for (int l = 0; l < sizes.length - 1; l++)
        {
            if ((long)sizes[l] * sizes[l + 1] >= threshold && sizes[l + 1] >= shards)
            {
                layers.add(l);
            }
        }
        return SplitConfig.of(shards, layers.stream().mapToInt(Integer::intValue).toArray());
    }

    public static void main(final String[] args)
    {
        final String mode = args[0];
        final Path rendezvousDir = Path.of(args[1]);
        final long session = Long.parseLong(args[2]);
        final int rank = Integer.parseInt(args[3]);
        final int worldSize = Integer.parseInt(args[4]);
        final int[] sizes = Arrays.stream(args[5].split(",")).mapToInt(Integer::parseInt).toArray();
        final int batch = Integer.parseInt(args[6]);
        final int warmup = Integer.parseInt(args[7]);
        final int steps = Integer.parseInt(args[8]);
        final long threshold = Long.parseLong(args[9]);

        // Shards of a split build only their slices (SplitRank.shard); the coordinator and replicas the whole network.
        final boolean wholeNetwork = mode.equals("dataparallel") || rank == 0;
        final MultiLayerNetwork network = wholeNetwork ? new MultiLayerNetwork(configuration(sizes)) : null;
        if (network != null)
        {
            network.init();
        }
        final List<DataSet> minibatches = minibatches(sizes, batch);
        final CollectiveConfig config = CollectiveConfig.builder(session).timeoutMs(120_000).build();
        final RingRendezvous rendezvous = RingRendezvous.bind(config, rank, worldSize);
        try (Collective collective = rendezvous.connect(
            FileRendezvous.exchange(rendezvousDir, rank, worldSize, rendezvous.endpoint(), 120_000)))
        {
            System.out.println("CHUNK " + collective.maxGatherBytes());
            final Runnable[] step = new Runnable[1];
            final int[] next = new int[1];
            final SplitRank splitRank;
            switch (mode)
            {
                case "dataparallel" ->
                {
                    splitRank = null;
                    network.initGradientsView();
                    network.getUpdater(true);
                    final ReplicaStep replica = new ReplicaStep(NetworkModel.of(network), collective, null);
                    final List<MultiDataSet> mine = new ArrayList<>();
                    for (final DataSet minibatch : minibatches)
                    {
                        mine.add(rows(minibatch, rank, worldSize).toMultiDataSet());
                    }
                    step[0] = () -> replica.run(mine.get(next[0]++ % mine.size()), batch);
                }
                case "split", "split-paired" ->
                {
                    final SplitConfig columns = split(sizes, worldSize, threshold);
                    final SplitConfig split = mode.equals("split") ? columns : columns.withPairing();
                    splitRank = rank == 0 ? new SplitRank(collective, network, split)
                        : SplitRank.shard(collective, configuration(sizes), split);
                    step[0] = rank == 0 ? () -> splitRank.fit(minibatches.get(next[0]++ % minibatches.size()))
                        : () -> requireStep(splitRank.serveOne());
                }
                default -> throw new IllegalArgumentException("unknown mode " + mode);
            }
            for (int s = 0; s < warmup + steps; s++)
            {
                collective.barrier();
                final CollectiveStats before = collective.stats();
                final long startNs = System.nanoTime();
                step[0].run();
                final double ms = (System.nanoTime() - startNs) / 1e6;
                final CollectiveStats after = collective.stats();
                if (s >= warmup)
                {
                    System.out.printf("STEP %.3f %d %d%n", ms, after.bytesSent() - before.bytesSent(),
                        after.bytesReceived() - before.bytesReceived());
                }
            }
            if (splitRank != null)
            {
                if (rank == 0)
                {
                    splitRank.finish();
                }
                else if (splitRank.serveOne())
                {
                    throw new IllegalStateException("rank " + rank + " expected the finish command");
                }
            }
        }
        System.out.flush();
        System.exit(0);
    }

    private static void requireStep(final boolean stepped)
    {
        if (!stepped)
        {
            throw new IllegalStateException("rank 0 finished before the last step");
        }
    }

    /** Replica r's contiguous share of the minibatch (sizes differ by at most one), as the data-parallel plan cuts it. */
    static DataSet rows(final DataSet minibatch, final int rank, final int worldSize)
    {
        final long rows = minibatch.getFeatures().rows();
        final long start = rank * (rows / worldSize) + Math.min(rank, rows % worldSize);
        final long end = start + rows / worldSize + (rank < rows % worldSize ? 1 : 0);
        return new DataSet(minibatch.getFeatures().get(NDArrayIndex.interval(start, end), NDArrayIndex.all()).dup(),
            minibatch.getLabels().get(NDArrayIndex.interval(start, end), NDArrayIndex.all()).dup());
    }
}
