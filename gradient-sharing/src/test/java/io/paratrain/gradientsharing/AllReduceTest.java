package io.paratrain.gradientsharing;

import io.paratrain.gradientsharing.internal.SharedMediaDriver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

@Timeout(120)
class AllReduceTest
{
    @TempDir
    Path driverBase;

    static Stream<Arguments> transportsAndWorldSizes()
    {
        final List<Arguments> cases = new ArrayList<>();
        for (final Transport transport : Transport.values())
        {
            for (int worldSize = 1; worldSize <= 4; worldSize++)
            {
                cases.add(Arguments.of(transport, worldSize));
            }
        }
        return cases.stream();
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

    /** Values that are small multiples of 1/4, so that every partial sum is exact in float32. */
    static float[] exactValues(final int length, final int rank)
    {
        final float[] data = new float[length];
        for (int i = 0; i < length; i++)
        {
            data[i] = (i % 1021) * 0.25f - 100f + rank;
        }
        return data;
    }

    @ParameterizedTest(name = "{0} worldSize={1}")
    @MethodSource("transportsAndWorldSizes")
    void sumAndMeanAreExactForEveryLength(final Transport transport, final int worldSize) throws Exception
    {
        final CollectiveConfig config = TestRing.config(driverBase, transport).build();
        try (TestRing ring = TestRing.connect(config, worldSize))
        {
            // zero, shorter than the world size, not divisible by it, and several frames per segment
            for (final int length : new int[] {0, 1, Math.max(worldSize - 1, 1), 1_000_003, 50_000})
            {
                final List<float[]> sums = ring.onEveryRank(rank ->
                {
                    final float[] data = exactValues(length, rank);
                    ring.ranks.get(rank).allReduce(data, ReduceOp.SUM);
                    return data;
                });
                final List<float[]> means = ring.onEveryRank(rank ->
                {
                    final float[] data = exactValues(length, rank);
                    ring.ranks.get(rank).allReduce(data, ReduceOp.MEAN);
                    return data;
                });
                final float[] expectedSum = exactValues(length, 0);
                final float[] expectedMean = new float[length];
                final float rankSum = worldSize * (worldSize - 1) / 2f;
                for (int i = 0; i < length; i++)
                {
                    expectedSum[i] = expectedSum[i] * worldSize + rankSum;
                    expectedMean[i] = expectedSum[i] / worldSize;
                }
                for (int rank = 0; rank < worldSize; rank++)
                {
                    assertArrayEquals(expectedSum, sums.get(rank), "sum, rank " + rank + ", length " + length);
                    assertArrayEquals(expectedMean, means.get(rank), "mean, rank " + rank + ", length " + length);
                }
            }
        }
    }

    @ParameterizedTest(name = "{0} worldSize={1}")
    @MethodSource("transportsAndWorldSizes")
    void resultsAreBitwiseIdenticalOnEveryRank(final Transport transport, final int worldSize) throws Exception
    {
        final CollectiveConfig config = TestRing.config(driverBase, transport).build();
        try (TestRing ring = TestRing.connect(config, worldSize))
        {
            final int length = 123_457;
            final List<float[]> results = ring.onEveryRank(rank ->
            {
                final Random random = new Random(rank);
                final float[] data = new float[length];
                for (int i = 0; i < length; i++)
                {
                    data[i] = (float)random.nextGaussian() * 1e3f;
                }
                ring.ranks.get(rank).allReduce(data, ReduceOp.MEAN);
                return data;
            });
            final double[] reference = new double[length];
            for (int rank = 0; rank < worldSize; rank++)
            {
                final Random random = new Random(rank);
                for (int i = 0; i < length; i++)
                {
                    reference[i] += (float)random.nextGaussian() * 1e3f;
                }
            }
            for (int rank = 0; rank < worldSize; rank++)
            {
                final float[] result = results.get(rank);
                for (int i = 0; i < length; i++)
                {
                    assertEquals(Float.floatToRawIntBits(results.get(0)[i]), Float.floatToRawIntBits(result[i]),
                        "rank " + rank + " element " + i + " differs from rank 0");
                    assertEquals(reference[i] / worldSize, result[i], 1e-3, "element " + i);
                }
            }
        }
    }

    @ParameterizedTest(name = "{0} worldSize={1}")
    @MethodSource("transportsAndWorldSizes")
    void directBuffersAreReducedInPlaceBetweenPositionAndLimit(final Transport transport, final int worldSize)
        throws Exception
    {
        final CollectiveConfig config = TestRing.config(driverBase, transport).build();
        try (TestRing ring = TestRing.connect(config, worldSize))
        {
            final int length = 70_001;
            final List<ByteBuffer> results = ring.onEveryRank(rank ->
            {
                final ByteBuffer buffer = ByteBuffer.allocateDirect((length + 2) * 4).order(ByteOrder.nativeOrder());
                buffer.putFloat(0, -7f);
                final float[] values = exactValues(length, rank);
                for (int i = 0; i < length; i++)
                {
                    buffer.putFloat((i + 1) * 4, values[i]);
                }
                buffer.putFloat((length + 1) * 4, -9f);
                buffer.position(4).limit((length + 1) * 4);
                ring.ranks.get(rank).allReduce(buffer, ReduceOp.SUM);
                assertEquals(4, buffer.position(), "position unchanged");
                return buffer.clear();
            });
            final float[] expected = exactValues(length, 0);
            for (final ByteBuffer buffer : results)
            {
                assertEquals(-7f, buffer.getFloat(0), "float before position untouched");
                assertEquals(-9f, buffer.getFloat((length + 1) * 4), "float after limit untouched");
                for (int i = 0; i < length; i++)
                {
                    assertEquals(expected[i] * worldSize + worldSize * (worldSize - 1) / 2f,
                        buffer.getFloat((i + 1) * 4), "element " + i);
                }
            }
        }
        assertFalse(Files.exists(config.driverDir()), "driver dir deleted");
    }
}
