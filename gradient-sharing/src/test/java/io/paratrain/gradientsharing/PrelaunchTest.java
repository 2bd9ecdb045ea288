package io.paratrain.gradientsharing;

import io.paratrain.gradientsharing.internal.SharedMediaDriver;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(120)
@ExtendWith(NoMediaDriverLeft.class)
class PrelaunchTest
{
    @TempDir
    Path driverBase;

    @Test
    void ranksTakeOverThePrelaunchedDriverAndStopItWhenTheyClose() throws Exception
    {
        final CollectiveConfig config = TestRing.config(driverBase, Transport.AUTO).build();
        final AutoCloseable lease = RingRendezvous.prelaunch(config);
        awaitOpenDrivers(1);
        assertTrue(Files.isDirectory(config.driverDir()), "the prelaunch made the driver's folder");
        try (TestRing ring = TestRing.connect(config, 2))
        {
            // the lease ends while the ranks hold the driver: it must not stop it under them
            lease.close();
            final List<float[]> sums = ring.onEveryRank(rank ->
            {
                final float[] values = {rank + 1, 10 * (rank + 1)};
                ring.ranks.get(rank).allReduce(values, ReduceOp.SUM);
                return values;
            });
            assertArrayEquals(new float[] {3, 30}, sums.get(0));
            assertArrayEquals(new float[] {3, 30}, sums.get(1));
            assertEquals(1, SharedMediaDriver.openCount());
        }
        assertEquals(0, SharedMediaDriver.openCount(), "the last rank's close stops the driver");
        assertFalse(Files.exists(config.driverDir()), "the driver's folder is deleted");
    }

    @Test
    void aLeaseNoRankTookOverStopsTheDriverWhenClosed() throws Exception
    {
        final CollectiveConfig config = TestRing.config(driverBase, Transport.AUTO).build();
        final AutoCloseable lease = RingRendezvous.prelaunch(config);
        lease.close(); // possibly before the launch is done: the driver then stops as soon as it is up
        awaitOpenDrivers(0);
        final long deadlineNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (Files.exists(config.driverDir()) && System.nanoTime() < deadlineNs)
        {
            Thread.sleep(10);
        }
        assertFalse(Files.exists(config.driverDir()), "the driver's folder is deleted");
    }

    @Test
    void aPrelaunchForADriverInUseLeavesItToItsUsers() throws Exception
    {
        final CollectiveConfig config = TestRing.config(driverBase, Transport.AUTO).build();
        try (TestRing ring = TestRing.connect(config, 2))
        {
            final AutoCloseable lease = RingRendezvous.prelaunch(config);
            Thread.sleep(200); // lets the prelaunch thread run first (the assertions hold in either order)
            lease.close();
            // had the prelaunch taken a reference, its close would have dropped one of the ranks'
            ring.ranks.get(0).close();
            assertEquals(1, SharedMediaDriver.openCount(), "rank 1 still holds the driver");
        }
    }

    private static void awaitOpenDrivers(final int expected) throws InterruptedException
    {
        final long deadlineNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (SharedMediaDriver.openCount() != expected && System.nanoTime() < deadlineNs)
        {
            Thread.sleep(10);
        }
        assertEquals(expected, SharedMediaDriver.openCount(), "open media drivers");
    }
}
