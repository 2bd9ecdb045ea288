package io.paratrain.gradientsharing;

import io.paratrain.gradientsharing.internal.SharedMediaDriver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The two halves of the ring all-reduce, used for a sharded optimizer step. */
@Timeout(120)
class ReduceScatterTest
{
    @TempDir
    Path driverBase;

    static Stream<org.junit.jupiter.params.provider.Arguments> transportsAndWorldSizes()
    {
        return AllReduceTest.transportsAndWorldSizes();
    }

    @AfterEach
    void nothingLeftBehind() throws Exception
    {
        assertEquals(0, SharedMediaDriver.openCount(), "media drivers still open");
        try (Stream<Path> left = Files.list(driverBase))
        {
            assertEquals(List.of(), left.toList(), "driver folders left behind");
        }
    }

    private static float[] gaussian(final int length, final int rank)
    {
        final Random random = new Random(31L * rank + length);
        final float[] data = new float[length];
        for (int i = 0; i < length; i++)
        {
            data[i] = (float)random.nextGaussian() * 1e3f;
        }
        return data;
    }

    @ParameterizedTest(name = "{0} worldSize={1}")
    @MethodSource("transportsAndWorldSizes")
    void reduceScatterThenAllGatherIsBitwiseTheAllReduce(final Transport transport, final int worldSize)
        throws Exception
    {
        final CollectiveConfig config = TestRing.config(driverBase, transport).build();
        try (TestRing ring = TestRing.connect(config, worldSize))
        {
            for (final int length : new int[] {0, 1, Math.max(worldSize - 1, 1), 1_000_003, 50_000})
            {
                for (final ReduceOp op : ReduceOp.values())
                {
                    final List<float[]> whole = ring.onEveryRank(rank ->
                    {
                        final float[] data = gaussian(length, rank);
                        ring.ranks.get(rank).allReduce(data, op);
                        return data;
                    });
                    final List<float[]> halves = ring.onEveryRank(rank ->
                    {
                        final float[] data = gaussian(length, rank);
                        ring.ranks.get(rank).reduceScatter(data, op);
                        ring.ranks.get(rank).allGatherSegments(data);
                        return data;
                    });
                    for (int rank = 0; rank < worldSize; rank++)
                    {
                        assertBitwiseEqual(whole.get(0), halves.get(rank),
                            op + " length " + length + " rank " + rank);
                    }
                }
            }
        }
    }

    @ParameterizedTest(name = "{0} worldSize={1}")
    @MethodSource("transportsAndWorldSizes")
    void ownedSegmentsCoverTheArrayOnceAndHoldTheSumAfterReduceScatter(final Transport transport,
        final int worldSize) throws Exception
    {
        final CollectiveConfig config = TestRing.config(driverBase, transport).build();
        try (TestRing ring = TestRing.connect(config, worldSize))
        {
            final int length = 200_003;
            final long[] covered = new long[length];
            for (final Collective rank : ring.ranks)
            {
                final Collective.Segment own = rank.ownedSegment(length);
                assertEquals(length / worldSize + (own.length() > length / worldSize ? 1 : 0), own.length());
                for (long i = own.start(); i < own.end(); i++)
                {
                    covered[(int)i]++;
                }
            }
            assertEquals(length, Arrays.stream(covered).filter(c -> c == 1).count(), "each element owned once");

            final List<float[]> scattered = ring.onEveryRank(rank ->
            {
                final float[] data = AllReduceTest.exactValues(length, rank);
                ring.ranks.get(rank).reduceScatter(data, ReduceOp.SUM);
                return data;
            });
            final float rankSum = worldSize * (worldSize - 1) / 2f;
            final float[] base = AllReduceTest.exactValues(length, 0);
            for (int rank = 0; rank < worldSize; rank++)
            {
                final Collective.Segment own = ring.ranks.get(rank).ownedSegment(length);
                for (int i = (int)own.start(); i < own.end(); i++)
                {
                    assertEquals(base[i] * worldSize + rankSum, scattered.get(rank)[i], "rank " + rank + " el " + i);
                }
            }
        }
    }

    @ParameterizedTest(name = "{0} worldSize={1}")
    @MethodSource("transportsAndWorldSizes")
    void allGatherSegmentsTakesEachSegmentFromItsOwnerInPlaceOnAnIndArray(final Transport transport,
        final int worldSize) throws Exception
    {
        final CollectiveConfig config = TestRing.config(driverBase, transport).build();
        try (TestRing ring = TestRing.connect(config, worldSize))
        {
            final int length = 70_001;
            final List<float[]> gathered = ring.onEveryRank(rank ->
            {
                final Collective collective = ring.ranks.get(rank);
                final Collective.Segment own = collective.ownedSegment(length);
                final float[] values = new float[length];
                Arrays.fill(values, Float.NaN); // what a rank does not own must be overwritten
                for (int i = (int)own.start(); i < own.end(); i++)
                {
                    values[i] = i * 0.5f;
                }
                // a row view of a larger matrix: reduced in its own memory
                final INDArray matrix = Nd4j.zeros(org.nd4j.linalg.api.buffer.DataType.FLOAT, 2, length);
                matrix.getRow(1).assign(Nd4j.createFromArray(values));
                collective.allGatherSegments(matrix.getRow(1));
                return matrix.getRow(1).toFloatVector();
            });
            final float[] expected = new float[length];
            for (int i = 0; i < length; i++)
            {
                expected[i] = i * 0.5f;
            }
            for (int rank = 0; rank < worldSize; rank++)
            {
                assertArrayEquals(expected, gathered.get(rank), "rank " + rank);
            }
        }
    }

    private static void assertBitwiseEqual(final float[] expected, final float[] actual, final String what)
    {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++)
        {
            if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(actual[i]))
            {
                throw new AssertionError(what + ": element " + i + " is " + actual[i] + ", expected " + expected[i]);
            }
        }
    }
}
