package io.paratrain.gradientsharing;

import io.paratrain.gradientsharing.exceptions.CollectiveException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Reduce to one rank and gather to one rank: the model-split primitives. */
@Timeout(120)
@ExtendWith(NoMediaDriverLeft.class)
class ReduceAndGatherTest
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

    @ParameterizedTest(name = "{0} worldSize={1}")
    @MethodSource("transportsAndWorldSizes")
    void reduceSumsExactlyIntoEveryPossibleRoot(final Transport transport, final int worldSize) throws Exception
    {
        try (TestRing ring = TestRing.connect(TestRing.config(driverBase, transport).build(), worldSize))
        {
            for (int root = 0; root < worldSize; root++)
            {
                for (final int length : new int[] {0, 3, 100_003})
                {
                    final int r0 = root;
                    final List<ByteBuffer> results = ring.onEveryRank(rank ->
                    {
                        final ByteBuffer data = direct(AllReduceTest.exactValues(length, rank));
                        ring.ranks.get(rank).reduce(data, r0);
                        return data;
                    });
                    final float[] expected = new float[length];
                    for (int rank = 0; rank < worldSize; rank++)
                    {
                        final float[] values = AllReduceTest.exactValues(length, rank);
                        for (int i = 0; i < length; i++)
                        {
                            expected[i] += values[i];
                        }
                    }
                    assertArrayEquals(expected, floats(results.get(root)), "root " + root + " length " + length);
                }
            }
        }
    }

    @Test
    void reduceWorksOnIndArrays() throws Exception
    {
        try (TestRing ring = TestRing.connect(TestRing.config(driverBase, Transport.AUTO).build(), 3))
        {
            final List<INDArray> results = ring.onEveryRank(rank ->
            {
                final INDArray array = Nd4j.create(DataType.FLOAT, 4, 5).assign(rank + 1);
                ring.ranks.get(rank).reduce(array, 2);
                return array;
            });
            // Raw values, not INDArray.equals (which allows 1e-5): 1 + 2 + 3 is exactly 6 in float.
            assertArrayEquals(new long[] {4, 5}, results.get(2).shape());
            final float[] six = new float[20];
            java.util.Arrays.fill(six, 6f);
            assertArrayEquals(six, results.get(2).data().asFloat());
        }
    }

    @ParameterizedTest(name = "{0} worldSize={1}")
    @MethodSource("transportsAndWorldSizes")
    void gatherPlacesEveryRanksBlockInRankOrderAtEveryPossibleRoot(final Transport transport, final int worldSize)
        throws Exception
    {
        try (TestRing ring = TestRing.connect(TestRing.config(driverBase, transport).build(), worldSize))
        {
            final int[] sizes = new int[worldSize];
            for (int rank = 0; rank < worldSize; rank++)
            {
                sizes[rank] = rank == 1 ? 0 : 70_001 * rank + 5; // empty, small and several-frame blocks
            }
            final int total = java.util.Arrays.stream(sizes).sum();
            for (int root = 0; root < worldSize; root++)
            {
                final int r0 = root;
                final List<ByteBuffer> gathered = ring.onEveryRank(rank ->
                {
                    final ByteBuffer mine = ByteBuffer.allocateDirect(sizes[rank]);
                    for (int i = 0; i < sizes[rank]; i++)
                    {
                        mine.put(i, (byte)(rank * 31 + i));
                    }
                    final ByteBuffer out = rank == r0 ? ByteBuffer.allocateDirect(total) : null;
                    ring.ranks.get(rank).gather(mine, out, sizes, r0);
                    return out;
                });
                final ByteBuffer out = gathered.get(root);
                int at = 0;
                for (int rank = 0; rank < worldSize; rank++)
                {
                    for (int i = 0; i < sizes[rank]; i++, at++)
                    {
                        assertEquals((byte)(rank * 31 + i), out.get(at), "root " + root + " block " + rank + " byte " + i);
                    }
                }
            }
        }
    }

    @Test
    void ranksDisagreeingOnTheBlocksGetAnError() throws Exception
    {
        try (TestRing ring = TestRing.connect(TestRing.config(driverBase, Transport.AUTO).build(), 2))
        {
            // Rank 1 only sends in this gather, so it cannot notice during the call; the root's error reaches it
            // (an ABORT frame) at its next call at the latest.
            final List<Throwable> failures = ring.failuresOnEveryRank(rank ->
            {
                final int[] sizes = rank == 0 ? new int[] {8, 8} : new int[] {8, 16};
                ring.ranks.get(rank).gather(ByteBuffer.allocateDirect(sizes[rank]),
                    rank == 0 ? ByteBuffer.allocateDirect(32) : null, sizes, 0);
                ring.ranks.get(rank).barrier();
                return null;
            });
            for (final Throwable failure : failures)
            {
                assertNotNull(failure);
                assertInstanceOf(CollectiveException.class, failure);
                assertTrue(failure.getMessage().contains("called gather(root=0, 16 bytes in all) but rank 1 called " +
                    "gather(root=0, 24 bytes in all)"), failure.getMessage());
            }
        }
    }

    private static ByteBuffer direct(final float[] values)
    {
        final ByteBuffer buffer = ByteBuffer.allocateDirect(values.length * 4).order(ByteOrder.nativeOrder());
        buffer.asFloatBuffer().put(values);
        return buffer;
    }

    private static float[] floats(final ByteBuffer buffer)
    {
        final float[] values = new float[buffer.capacity() / 4];
        buffer.duplicate().order(ByteOrder.nativeOrder()).clear().asFloatBuffer().get(values);
        return values;
    }
}
