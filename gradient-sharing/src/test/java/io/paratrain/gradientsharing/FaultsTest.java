package io.paratrain.gradientsharing;

import io.aeron.Aeron;
import io.aeron.ChannelUriStringBuilder;
import io.aeron.ExclusivePublication;
import io.aeron.Publication;
import io.paratrain.gradientsharing.exceptions.CollectiveConfigException;
import io.paratrain.gradientsharing.exceptions.CollectiveTimeoutException;
import io.paratrain.gradientsharing.exceptions.PeerFailedException;
import io.paratrain.gradientsharing.internal.FrameAuthenticator;
import io.paratrain.gradientsharing.internal.FrameHeader;
import io.paratrain.gradientsharing.internal.OpKind;
import io.paratrain.gradientsharing.internal.SharedMediaDriver;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.net.DatagramSocket;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(120)
class FaultsTest
{
    private static final long TIMEOUT_MS = 2_000;
    private static final long STEP_MS = 4;

    @TempDir
    Path driverBase;

    private final ExecutorService threads = Executors.newCachedThreadPool();

    @AfterEach
    void nothingLeftBehind() throws Exception
    {
        threads.shutdownNow();
        assertTrue(threads.awaitTermination(30, TimeUnit.SECONDS));
        assertEquals(0, SharedMediaDriver.openCount(), "media drivers still open");
    }

    /** On the wall clock (end to end) and on simulated time, where the wait is exactly one step past the timeout. */
    @ParameterizedTest(name = "simulated time: {0}")
    @ValueSource(booleans = {false, true})
    void aRankWhoseEndpointNobodyBindsIsNamedWithinTheTimeout(final boolean simulated) throws Exception
    {
        final CollectiveConfig config = TestRing.config(driverBase, Transport.UDP).timeoutMs(TIMEOUT_MS).build();
        final int unusedPort;
        try (DatagramSocket socket = new DatagramSocket(0, InetAddress.getLoopbackAddress()))
        {
            unusedPort = socket.getLocalPort();
        }
        final SteppedClock clock = simulated ? new SteppedClock(STEP_MS) : null;
        try (RingRendezvous rendezvous = RingRendezvous.bind(config, 0, 2))
        {
            if (clock != null)
            {
                rendezvous.clock(clock);
            }
            final List<Endpoint> endpoints = List.of(rendezvous.endpoint(), new Endpoint("127.0.0.1", unusedPort, ""));
            final long startNs = System.nanoTime();
            final Throwable failure = clock == null ? failureOf(() -> rendezvous.connect(endpoints)) :
                clock.failuresOf(1, rank -> rendezvous.connect(endpoints), 4 * TIMEOUT_MS).get(0);
            final long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs);
            final CollectiveTimeoutException ex = assertInstanceOf(CollectiveTimeoutException.class, failure);
            assertEquals(1, ex.peerRank(), ex.getMessage());
            assertEquals("connect", ex.operation());
            assertTrue(ex.getMessage().contains("rank 1 is not connected"), ex.getMessage());
            if (clock == null)
            {
                assertTrue(ex.waitedMs() >= TIMEOUT_MS && tookMs <= TIMEOUT_MS + 1_000, "took " + tookMs + " ms");
            }
            else
            {
                assertEquals(TIMEOUT_MS + STEP_MS, ex.waitedMs(), ex.getMessage());
            }
        }
    }

    /** On the wall clock (end to end) and on simulated time, where each wait is exactly one step past the timeout. */
    @ParameterizedTest(name = "simulated time: {0}")
    @ValueSource(booleans = {false, true})
    void aRankThatBindsButNeverConnectsIsNamedByItsNeighbours(final boolean simulated) throws Exception
    {
        final CollectiveConfig config = TestRing.config(driverBase, Transport.AUTO).timeoutMs(TIMEOUT_MS).build();
        final SteppedClock clock = simulated ? new SteppedClock(STEP_MS) : null;
        final List<RingRendezvous> bound = new ArrayList<>();
        final List<Endpoint> endpoints = new ArrayList<>();
        for (int r = 0; r < 3; r++)
        {
            bound.add(RingRendezvous.bind(config, r, 3));
            endpoints.add(bound.get(r).endpoint());
            if (clock != null)
            {
                bound.get(r).clock(clock);
            }
        }
        try
        {
            final long startNs = System.nanoTime();
            final List<Throwable> failures = clock == null ? failuresOnWallClock(bound, endpoints) :
                clock.failuresOf(2, rank -> bound.get(rank).connect(endpoints), 4 * TIMEOUT_MS);
            final long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs);
            // rank 0 receives from rank 2 and times out on it; rank 1 cannot reach rank 2 (its IPC publication
            // never connects) and times out on it too, unless rank 0's abort naming rank 2 arrives first
            final CollectiveTimeoutException failure0 = assertInstanceOf(CollectiveTimeoutException.class,
                failures.get(0));
            assertEquals(2, failure0.peerRank(), failure0.getMessage());
            final Throwable failure1 = failures.get(1);
            assertTrue(failure1 instanceof PeerFailedException peer ? peer.failedRank() == 2 :
                assertInstanceOf(CollectiveTimeoutException.class, failure1).peerRank() == 2,
                String.valueOf(failure1));
            if (clock == null)
            {
                assertTrue(tookMs <= TIMEOUT_MS + 1_000, "took " + tookMs + " ms");
            }
            else
            {
                assertEquals(TIMEOUT_MS + STEP_MS, failure0.waitedMs(), failure0.getMessage());
                if (failure1 instanceof CollectiveTimeoutException timeout1)
                {
                    assertEquals(TIMEOUT_MS + STEP_MS, timeout1.waitedMs(), timeout1.getMessage());
                }
            }
        }
        finally
        {
            bound.forEach(RingRendezvous::close);
        }
    }

    /** Ranks 0 and 1 connect, each on a thread of its own; their exceptions. */
    private List<Throwable> failuresOnWallClock(final List<RingRendezvous> bound, final List<Endpoint> endpoints)
        throws Exception
    {
        final Future<Throwable> rank0 = threads.submit(() -> failureOf(() -> bound.get(0).connect(endpoints)));
        final Future<Throwable> rank1 = threads.submit(() -> failureOf(() -> bound.get(1).connect(endpoints)));
        return Arrays.asList(rank0.get(TIMEOUT_MS + 5_000, TimeUnit.MILLISECONDS),
            rank1.get(TIMEOUT_MS + 5_000, TimeUnit.MILLISECONDS));
    }

    @Test
    void endpointListsThatDisagreeAreRefused() throws Exception
    {
        final CollectiveConfig config = TestRing.config(driverBase, Transport.AUTO).timeoutMs(TIMEOUT_MS).build();
        try (RingRendezvous rendezvous = RingRendezvous.bind(config, 0, 2))
        {
            final CollectiveConfigException ex = assertThrows(CollectiveConfigException.class,
                () -> rendezvous.connect(List.of(new Endpoint("127.0.0.1", 9, ""), rendezvous.endpoint())));
            assertTrue(ex.getMessage().contains("endpoint 0 in the list is 127.0.0.1:9 but this rank bound"),
                ex.getMessage());
        }
    }

    @Test
    void framesOfAnotherSessionOrWithABadMacAreDroppedAndCountedNeverReduced() throws Exception
    {
        final byte[] secret = "sixteen-byte-secret-for-the-job".getBytes();
        final CollectiveConfig config = TestRing.config(driverBase, Transport.UDP).hmacSecret(secret).build();
        try (TestRing ring = TestRing.connect(config, 2);
            Aeron foreign = Aeron.connect(new Aeron.Context().aeronDirectoryName(config.driverDir().toString())))
        {
            // A stray sender aims at rank 1's port, where rank 0's frames arrive, with well-formed frames that
            // claim to be rank 0's next operation: one with another session id, one signed with the wrong key,
            // one unsigned, and one that is not a Paratrain frame at all.
            final Endpoint target = ring.endpoints.get(1);
            final ExclusivePublication stray = foreign.addExclusivePublication(new ChannelUriStringBuilder()
                .media("udp").endpoint(target.address()).build(), config.streamId());
            final int headerLength = FrameHeader.headerLength(true);
            final UnsafeBuffer frame = new UnsafeBuffer(new byte[headerLength + 4 * 3]);
            final float[] poison = {1e9f, 1e9f, 1e9f};
            for (int i = 0; i < 3; i++)
            {
                frame.putFloat(headerLength + 4 * i, poison[i]);
            }
            final FrameAuthenticator wrongKey = new FrameAuthenticator("another-secret-entirely!".getBytes(), 4096);
            FrameHeader.write(frame, 0, FrameHeader.TYPE_DATA, OpKind.ALL_REDUCE_SUM, config.sessionId() + 1,
                1, 3, 0, 0, 12);
            send(stray, frame);
            FrameHeader.write(frame, 0, FrameHeader.TYPE_DATA, OpKind.ALL_REDUCE_SUM, config.sessionId(),
                1, 3, 0, 0, 12);
            wrongKey.sign(frame, 0, 12);
            send(stray, frame);
            frame.setMemory(FrameHeader.SIGNED_LENGTH, FrameHeader.MAC_LENGTH, (byte)0);
            send(stray, frame);
            send(stray, new UnsafeBuffer("not a frame, just bytes on the port....................".getBytes()));

            final long deadlineNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            do
            {
                final List<float[]> sums = ring.onEveryRank(rank ->
                {
                    final float[] data = {1, 2, 3};
                    ring.ranks.get(rank).allReduce(data, ReduceOp.SUM);
                    return data;
                });
                assertArrayEquals(new float[] {2, 4, 6}, sums.get(0));
                assertArrayEquals(new float[] {2, 4, 6}, sums.get(1));
            }
            while (dropped(ring.ranks.get(1).stats()) < 4 && System.nanoTime() < deadlineNs);

            final CollectiveStats stats = ring.ranks.get(1).stats();
            assertEquals(1, stats.droppedForeignSession(), stats.toString());
            assertEquals(2, stats.rejectedMac(), stats.toString());
            assertEquals(1, stats.droppedMalformed(), stats.toString());
            stray.close();
        }
    }

    private static long dropped(final CollectiveStats stats)
    {
        return stats.droppedForeignSession() + stats.rejectedMac() + stats.droppedMalformed();
    }

    private static void send(final ExclusivePublication publication, final UnsafeBuffer frame)
    {
        final long deadlineNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        long result;
        while ((result = publication.offer(frame, 0, frame.capacity())) < 0)
        {
            if (result == Publication.CLOSED || result == Publication.MAX_POSITION_EXCEEDED ||
                System.nanoTime() > deadlineNs)
            {
                throw new AssertionError("stray sender could not send: " + result);
            }
            Thread.onSpinWait();
        }
    }

    private static Throwable failureOf(final Runnable action)
    {
        try
        {
            action.run();
            return null;
        }
        catch (final RuntimeException ex)
        {
            return ex;
        }
    }
}
