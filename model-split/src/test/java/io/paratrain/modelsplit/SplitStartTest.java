package io.paratrain.modelsplit;

import io.paratrain.gradientsharing.NoMediaDriverLeft;
import io.paratrain.gradientsharing.TestRing;
import io.paratrain.gradientsharing.Transport;
import io.paratrain.modelsplit.internal.ColumnRange;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.nio.file.Path;
import java.util.List;

import static io.paratrain.modelsplit.SplitEquivalenceTest.relativeDifference;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * How ranks start: a shard built from the configuration alone (no network) receives exactly its slices from rank 0,
 * and a fresh start, where no rank holds the whole network, gives each rank only its slices (exact float counts),
 * trains, and gathers into an ordinary network; ranks that disagree on the start mode are refused.
 */
@Timeout(120)
@ExtendWith(NoMediaDriverLeft.class)
class SplitStartTest
{
    @TempDir
    Path driverBase;

    @Test
    void shardsWithoutANetworkTrainExactlyLikeDl4j() throws Exception
    {
        final MultiLayerConfiguration conf = SplitEquivalenceTest.configuration("adam", "softmax-mcxent");
        final MultiLayerNetwork reference = new MultiLayerNetwork(conf);
        reference.init();
        final MultiLayerNetwork start = reference.clone();
        final SplitConfig split = SplitConfig.of(3, 0, 1, 2).withPairing();
        try (TestRing ring = TestRing.connect(TestRing.config(driverBase, Transport.AUTO).build(), 3))
        {
            final List<SplitRank> ranks = ring.onEveryRank(rank -> rank == 0
                ? new SplitRank(ring.ranks.get(0), start, split) : SplitRank.shard(ring.ranks.get(rank), conf, split));
            final List<MultiLayerNetwork> results = train(ring, ranks, SplitEquivalenceTest.minibatches("softmax-mcxent"),
                reference);
            final double difference = relativeDifference(results.get(0).params(), reference.params());
            assertTrue(difference < 1e-5, "parameters differ by " + difference + " relative");
            assertNull(results.get(1));
        }
    }

    @Test
    void aFreshStartHoldsOnlyTheSlicesTrainsAndGathers() throws Exception
    {
        final MultiLayerConfiguration conf = SplitEquivalenceTest.configuration("adam", "softmax-mcxent");
        final SplitConfig split = SplitConfig.of(3, 0, 1);   // 12-16-10-4: layer 2 stays whole on rank 0
        try (TestRing ring = TestRing.connect(TestRing.config(driverBase, Transport.AUTO).build(), 3))
        {
            final List<SplitRank> ranks = ring.onEveryRank(rank -> SplitRank.fresh(ring.ranks.get(rank), conf, split));
            // Adam: 3 floats (value, 2 moments) per parameter. Layer 0 is 12 x 16 + 16, layer 1 16 x 10 + 10,
            // split 6+5+5 and 4+3+3 columns; layer 2 (10 x 4 + 4) whole on rank 0.
            final List<ColumnRange> first = ColumnRange.split(16, 3, "layer 0");
            final List<ColumnRange> second = ColumnRange.split(10, 3, "layer 1");
            for (int r = 0; r < 3; r++)
            {
                final long slices = first.get(r).width() * 13 + second.get(r).width() * 17 + (r == 0 ? 44 : 0);
                assertEquals(3 * slices, ranks.get(r).heldFloats(), "rank " + r);
            }
            final List<DataSet> minibatches = SplitEquivalenceTest.minibatches("softmax-mcxent");
            final List<MultiLayerNetwork> results = train(ring, ranks, minibatches, null);
            final MultiLayerNetwork trained = results.get(0);
            assertEquals(minibatches.size(), trained.getIterationCount());
            // Each shard drew its own columns from its own random stream: shards 0 and 1 of layer 0 differ.
            final INDArray w0 = trained.getLayer(0).getParam("W");
            assertFalse(w0.get(NDArrayIndex.all(), NDArrayIndex.interval(0, 5))
                .equalsWithEps(w0.get(NDArrayIndex.all(), NDArrayIndex.interval(6, 11)), 1e-3));
            final double before = trained.score(minibatches.get(0));
            trained.fit(minibatches.get(0));   // the gathered network is an ordinary DL4J network
            assertTrue(trained.score(minibatches.get(0)) < before);
        }
    }

    @Test
    void ranksThatDisagreeOnTheStartAreRefused() throws Exception
    {
        final MultiLayerConfiguration conf = SplitEquivalenceTest.configuration("sgd", "softmax-mcxent");
        final MultiLayerNetwork network = new MultiLayerNetwork(conf);
        network.init();
        try (TestRing ring = TestRing.connect(TestRing.config(driverBase, Transport.AUTO).build(), 2))
        {
            final List<Throwable> failures = ring.onEveryRank(rank -> assertThrows(
                io.paratrain.modelsplit.exceptions.SplitConfigException.class, () ->
                {
                    if (rank == 0)
                    {
                        new SplitRank(ring.ranks.get(0), network, SplitConfig.of(2, 0));
                    }
                    else
                    {
                        SplitRank.fresh(ring.ranks.get(1), conf, SplitConfig.of(2, 0));
                    }
                }));
            assertTrue(failures.get(0).getMessage().contains("start mode"), failures.get(0).getMessage());
        }
    }

    /** Rank 0 fits every minibatch (and the reference, if given) and finishes; the others serve. */
    private static List<MultiLayerNetwork> train(final TestRing ring, final List<SplitRank> ranks,
                                                 final List<DataSet> minibatches, final MultiLayerNetwork reference)
        throws Exception
    {
        return ring.onEveryRank(rank ->
        {
            if (rank != 0)
            {
                ranks.get(rank).serve();
                return null;
            }
            for (final DataSet minibatch : minibatches)
            {
                if (reference != null)
                {
                    reference.fit(minibatch);
                }
                ranks.get(0).fit(minibatch);
            }
            return ranks.get(0).finish();
        });
    }
}
