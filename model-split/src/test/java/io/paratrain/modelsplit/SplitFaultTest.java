package io.paratrain.modelsplit;

import io.paratrain.gradientsharing.NoMediaDriverLeft;
import io.paratrain.gradientsharing.TestRing;
import io.paratrain.gradientsharing.Transport;

import io.paratrain.gradientsharing.exceptions.CollectiveTimeoutException;
import io.paratrain.modelsplit.exceptions.ShardFailedException;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A shard that stops answering gives the coordinator a typed error within the collective's timeout, not a hang. */
@Timeout(60)
@ExtendWith(NoMediaDriverLeft.class)
class SplitFaultTest
{
    private static final long TIMEOUT_MS = 1_500;

    @TempDir
    Path driverBase;

    @Test
    void aSilentShardFailsTheCoordinatorsStepWithinTheTimeout() throws Exception
    {
        final MultiLayerConfiguration conf = SplitEquivalenceTest.configuration("adam", "softmax-mcxent");
        try (TestRing ring = TestRing.connect(
            TestRing.config(driverBase, Transport.AUTO).timeoutMs(TIMEOUT_MS).build(), 2))
        {
            final List<SplitRank> ranks = ring.onEveryRank(rank -> new SplitRank(ring.ranks.get(rank),
                DistributedSplitTest.freshNetwork(conf), SplitConfig.of(2, 0, 1, 2)));
            final long startNs = System.nanoTime();
            final ShardFailedException failure = assertThrows(ShardFailedException.class,
                () -> ranks.get(0).fit(SplitEquivalenceTest.minibatches("softmax-mcxent").get(0)));
            final long waitedMs = (System.nanoTime() - startNs) / 1_000_000;

            final CollectiveTimeoutException cause = assertInstanceOf(CollectiveTimeoutException.class,
                failure.getCause());
            assertEquals(1, cause.peerRank());
            assertTrue(failure.getMessage().contains("rank 0 step 0, layer 0 forward gather of H"), failure.getMessage());
            assertTrue(waitedMs >= TIMEOUT_MS && waitedMs < TIMEOUT_MS + 5_000, "failed after " + waitedMs + " ms");
        }
    }
}
