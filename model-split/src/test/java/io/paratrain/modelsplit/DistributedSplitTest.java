package io.paratrain.modelsplit;

import io.paratrain.gradientsharing.NoMediaDriverLeft;
import io.paratrain.gradientsharing.TestRing;
import io.paratrain.gradientsharing.Transport;

import io.paratrain.gradientsharing.CollectiveStats;
import io.paratrain.modelsplit.StepTraffic;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static io.paratrain.modelsplit.SplitEquivalenceTest.relativeDifference;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Distributed model split (ranks as threads, real Aeron ring) equals {@code MultiLayerNetwork.fit}: the 12-16-10-4
 * MLP of {@link SplitEquivalenceTest}, 25 steps of 5..8 examples, parameters and updater state within 1e-5 relative;
 * and every step moves exactly the bytes {@link StepTraffic} predicts.
 */
@Timeout(180)
@ExtendWith(NoMediaDriverLeft.class)
class DistributedSplitTest
{
    private static final double TOLERANCE = 1e-5;
    private static final int FRAME_HEADER_BYTES = 48;

    @TempDir
    Path driverBase;

    static Stream<Arguments> cases()
    {
        final List<Arguments> cases = new ArrayList<>();
        for (final int shards : new int[] {2, 3})
        {
            for (final String updater : List.of("sgd", "adam"))
            {
                for (final String head : List.of("softmax-mcxent", "identity-mse"))
                {
                    cases.add(Arguments.of(shards, updater, head, SplitConfig.of(shards, 0, 1, 2)));
                }
            }
            cases.add(Arguments.of(shards, "adam", "softmax-mcxent", SplitConfig.of(shards, 1)));
            cases.add(Arguments.of(shards, "adam", "softmax-mcxent-masked", SplitConfig.of(shards, 0, 1, 2)));
            cases.add(Arguments.of(shards, "sgd", "identity-mse-masked", SplitConfig.of(shards, 1, 2).withPairing()));
            // Megatron pairing: (0 by columns, 1 by rows) then 2 by columns; and (1 by columns, the output by rows).
            for (final String updater : List.of("sgd", "adam"))
            {
                cases.add(Arguments.of(shards, updater, "softmax-mcxent", SplitConfig.of(shards, 0, 1, 2).withPairing()));
                cases.add(Arguments.of(shards, updater, "identity-mse", SplitConfig.of(shards, 1, 2).withPairing()));
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "N={0} {1} {2} split={3}")
    @MethodSource("cases")
    void distributedTrainingMatchesDl4jFitAndMovesThePredictedBytes(final int shards, final String updater,
                                                                   final String head, final SplitConfig split)
        throws Exception
    {
        final MultiLayerConfiguration conf = SplitEquivalenceTest.configuration(updater, head);
        final MultiLayerNetwork reference = new MultiLayerNetwork(conf);
        reference.init();
        final INDArray initial = reference.params().dup();
        final MultiLayerNetwork start = reference.clone();
        final List<DataSet> minibatches = SplitEquivalenceTest.minibatches(head);

        try (TestRing ring = TestRing.connect(

            TestRing.config(driverBase, Transport.AUTO).timeoutMs(10_000).build(), shards))
        {
            final List<SplitRank> ranks = ring.onEveryRank(rank -> new SplitRank(ring.ranks.get(rank),
                rank == 0 ? start : freshNetwork(conf), split));
            final int chunkBytes = ring.ranks.get(0).maxGatherBytes() / 4 * 4;
            for (final DataSet minibatch : minibatches)
            {
                reference.fit(minibatch);
                final List<long[]> traffic = ring.onEveryRank(rank ->
                {
                    final CollectiveStats before = ring.ranks.get(rank).stats();
                    if (rank == 0)
                    {
                        ranks.get(0).fit(minibatch);
                    }
                    else
                    {
                        assertTrue(ranks.get(rank).serveOne());
                    }
                    final CollectiveStats after = ring.ranks.get(rank).stats();
                    return new long[] {after.bytesSent() - before.bytesSent(),
                        after.bytesReceived() - before.bytesReceived()};
                });
                final long expected = StepTraffic.perStep(shards, (int)minibatch.getFeatures().rows(),
                    layers(reference, split), chunkBytes, FRAME_HEADER_BYTES);
                assertEquals(expected, traffic.stream().mapToLong(t -> t[0]).sum(), "bytes sent in a step");
                assertEquals(expected, traffic.stream().mapToLong(t -> t[1]).sum(), "bytes received in a step");
            }
            final List<MultiLayerNetwork> results = ring.onEveryRank(rank ->
            {
                if (rank == 0)
                {
                    return ranks.get(0).finish();
                }
                assertTrue(!ranks.get(rank).serveOne(), "rank " + rank + " expected the finish command");
                return null;
            });
            for (int r = 1; r < shards; r++)
            {
                assertNull(results.get(r));
            }
            final MultiLayerNetwork trained = results.get(0);
            final double paramDifference = relativeDifference(trained.params(), reference.params());
            final INDArray referenceState = reference.getUpdater().getStateViewArray();
            final double stateDifference = referenceState == null
                ? 0 : relativeDifference(trained.getUpdater().getStateViewArray(), referenceState);
            System.out.printf("distributed N=%d %s %s split=%s: params %.3e, updater state %.3e, bytes/step (last) %d%n",
                shards, updater, head, split.splitLayers() + (split.paired() ? " paired" : ""), paramDifference,
                stateDifference,
                StepTraffic.perStep(shards, (int)minibatches.get(minibatches.size() - 1).getFeatures().rows(),
                    layers(reference, split), chunkBytes, FRAME_HEADER_BYTES));

            assertTrue(relativeDifference(reference.params(), initial) > 1e-2, "training barely moved the parameters");
            assertEquals(reference.getIterationCount(), trained.getIterationCount());
            assertTrue(paramDifference < TOLERANCE, "parameters differ by " + paramDifference + " relative");
            assertTrue(stateDifference < TOLERANCE, "updater state differs by " + stateDifference + " relative");
        }
    }

    static MultiLayerNetwork freshNetwork(final MultiLayerConfiguration conf)
    {
        final MultiLayerNetwork network = new MultiLayerNetwork(conf.clone());
        network.init();
        return network;
    }

    static List<StepTraffic.Layer> layers(final MultiLayerNetwork network, final SplitConfig split)
    {
        final long[] widths = new long[network.getnLayers() + 1];
        for (int l = 0; l < network.getnLayers(); l++)
        {
            final INDArray w = network.getLayer(l).getParam("W");
            widths[l] = w.rows();
            widths[l + 1] = w.columns();
        }
        return StepTraffic.layers(widths, split);
    }
}
