package io.paratrain.gradientsharing;

import io.paratrain.gradientsharing.exceptions.CollectiveTimeoutException;
import io.paratrain.gradientsharing.exceptions.PeerFailedException;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The rank that is really silent is the one named, whichever rank started waiting first: a rank whose left
 * neighbour is alive and itself waiting lets its deadline run on (up to twice the timeout) until the rank next to
 * the silent one times out and its abort names the silent rank.
 * <p>
 * Each scenario runs twice: on the wall clock over UDP (end to end, bounds of 1 s, which a heavily loaded host can
 * break), and on a {@link SteppedClock} over IPC, where the same ring code decides on simulated time, so the
 * bounds are a few steps and the waits exact whatever the load.
 */
@Timeout(120)
@ExtendWith(NoMediaDriverLeft.class)
class StallBlameTest
{
    private static final long TIMEOUT_MS = 2_000;
    private static final long STEP_MS = 4;

    /** Where a scenario's time comes from. */
    enum Timing
    {
        WALL_CLOCK_UDP, SIMULATED_IPC
    }

    @TempDir
    Path driverBase;

    /**
     * The model-split pattern that used to blame the wrong rank: rank 1 passes its part of a reduce on and waits
     * for rank 0's broadcast at once, while rank 0 computes for half a timeout and then waits in the reduce for
     * the silent rank 2. Rank 1's own deadline expires first; it must still name rank 2, not rank 0.
     */
    @ParameterizedTest
    @EnumSource(Timing.class)
    void theRankNextToASilentOneNamesItEvenWhenAnotherRankStartedWaitingEarlier(final Timing timing)
        throws Exception
    {
        final SteppedClock clock = timing == Timing.SIMULATED_IPC ? new SteppedClock(STEP_MS) : null;
        try (TestRing ring = connect(clock, 3))
        {
            final long[] failedAtMs = new long[3];
            final List<Throwable> failures = failuresTimed(ring, clock, failedAtMs, rank ->
            {
                if (rank == 2)
                {
                    return; // silent: never takes part
                }
                final ByteBuffer partial = ByteBuffer.allocateDirect(4 * 16).order(ByteOrder.nativeOrder());
                if (rank == 0)
                {
                    pause(clock, TIMEOUT_MS / 2); // computing while rank 1 already waits for it
                }
                ring.ranks.get(rank).reduce(partial, 0);
                ring.ranks.get(rank).broadcast(new float[16], 0);
            });
            assertNull(failures.get(2));
            final CollectiveTimeoutException rank0 = assertInstanceOf(CollectiveTimeoutException.class,
                failures.get(0));
            assertEquals(2, rank0.peerRank(), rank0.getMessage());
            assertEquals("reduce", rank0.operation());
            final PeerFailedException rank1 = assertInstanceOf(PeerFailedException.class, failures.get(1),
                String.valueOf(failures.get(1)));
            assertEquals(2, rank1.failedRank(), rank1.getMessage());
            assertTrue(rank1.getMessage().contains("no progress from rank 2"), rank1.getMessage());
            // rank 0 waited one timeout after its half-timeout computation; rank 1 heard just after
            final long slackMs = slackMs(clock);
            assertTrue(failedAtMs[0] >= TIMEOUT_MS * 3 / 2 && failedAtMs[0] <= TIMEOUT_MS * 3 / 2 + slackMs,
                "rank 0 failed after " + failedAtMs[0] + " ms");
            assertTrue(failedAtMs[1] >= failedAtMs[0] && failedAtMs[1] <= failedAtMs[0] + slackMs,
                "rank 1 failed after " + failedAtMs[1] + " ms, rank 0 after " + failedAtMs[0] + " ms");
            if (clock != null)
            {
                // the first step past the deadline, exactly
                assertEquals(TIMEOUT_MS + STEP_MS, rank0.waitedMs(), rank0.getMessage());
            }
        }
    }

    /**
     * Every rank alive and each waiting for its left neighbour (each is the root of a reduce that nobody feeds):
     * nobody is silent, so each rank defers, but only up to twice the timeout; the ring still fails in bounded time.
     */
    @ParameterizedTest
    @EnumSource(Timing.class)
    void ranksWaitingForEachOtherInACycleStillFailWithinTwiceTheTimeout(final Timing timing) throws Exception
    {
        final SteppedClock clock = timing == Timing.SIMULATED_IPC ? new SteppedClock(STEP_MS) : null;
        try (TestRing ring = connect(clock, 3))
        {
            final long[] failedAtMs = new long[3];
            final List<Throwable> failures = failuresTimed(ring, clock, failedAtMs, rank -> ring.ranks.get(rank)
                .reduce(ByteBuffer.allocateDirect(16).order(ByteOrder.nativeOrder()), rank));
            final long lateMs = clock == null ? 1_000 : slackMs(clock);
            final long earlyMs = clock == null ? 100 : 0;
            int timedOut = 0;
            for (int rank = 0; rank < 3; rank++)
            {
                final Throwable failure = failures.get(rank);
                assertTrue(failure instanceof CollectiveTimeoutException || failure instanceof PeerFailedException,
                    "rank " + rank + ": " + failure);
                assertTrue(failedAtMs[rank] >= 2 * TIMEOUT_MS - earlyMs &&
                    failedAtMs[rank] <= 2 * TIMEOUT_MS + lateMs, "rank " + rank + " failed after " +
                    failedAtMs[rank] + " ms");
                if (failure instanceof CollectiveTimeoutException timeout)
                {
                    timedOut++;
                    assertEquals(Math.floorMod(rank - 1, 3), timeout.peerRank(), timeout.getMessage());
                    assertTrue(timeout.waitedMs() >= 2 * TIMEOUT_MS, timeout.getMessage());
                    if (clock != null)
                    {
                        assertEquals(2 * TIMEOUT_MS + STEP_MS, timeout.waitedMs(), timeout.getMessage());
                    }
                    assertTrue(timeout.getMessage().contains("is alive and says it is waiting for rank " +
                        Math.floorMod(rank - 2, 3)), timeout.getMessage());
                }
            }
            assertTrue(timedOut >= 1, "no rank timed out: " + failures);
        }
    }

    /** A 3-rank ring on the wall clock over UDP ({@code clock} null) or on {@code clock} over IPC. */
    private TestRing connect(final SteppedClock clock, final int worldSize) throws Exception
    {
        final CollectiveConfig config = TestRing.config(driverBase, clock == null ? Transport.UDP : Transport.AUTO)
            .timeoutMs(TIMEOUT_MS).build();
        return clock == null ? TestRing.connect(config, worldSize) : TestRing.connect(config, worldSize, clock);
    }

    /** How late past the expected time a rank may fail: 1 s of wall time, or a few simulated steps. */
    private static long slackMs(final SteppedClock clock)
    {
        return clock == null ? 1_000 : 5 * STEP_MS;
    }

    private static void pause(final SteppedClock clock, final long ms) throws InterruptedException
    {
        if (clock == null)
        {
            Thread.sleep(ms);
        }
        else
        {
            clock.sleepMs(ms);
        }
    }

    /** One rank's part of a test; it may pause. */
    private interface RankWork
    {
        void run(int rank) throws InterruptedException;
    }

    /**
     * Runs {@code work} on every rank at once and returns each rank's exception (or null), noting in
     * {@code endedAtMs} when each rank's part returned or threw, in ms from the start: of the wall clock, or of
     * {@code clock}, which this thread then steps until every rank's part has ended.
     */
    private static List<Throwable> failuresTimed(final TestRing ring, final SteppedClock clock, final long[] endedAtMs,
        final RankWork work) throws Exception
    {
        final long startNs = System.nanoTime();
        final long startMs = clock == null ? 0 : clock.elapsedMs();
        final IntFunction<Object> timed = rank ->
        {
            try
            {
                work.run(rank);
                return null;
            }
            catch (final InterruptedException ex)
            {
                throw new IllegalStateException(ex);
            }
            finally
            {
                endedAtMs[rank] = clock == null ? TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs) :
                    clock.elapsedMs() - startMs;
            }
        };
        return clock == null ? ring.failuresOnEveryRank(timed) :
            clock.failuresOf(ring.ranks.size(), timed, 4 * TIMEOUT_MS);
    }
}
