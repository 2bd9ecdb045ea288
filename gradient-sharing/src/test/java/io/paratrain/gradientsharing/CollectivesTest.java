package io.paratrain.gradientsharing;

import io.paratrain.gradientsharing.exceptions.CollectiveClosedException;
import io.paratrain.gradientsharing.exceptions.CollectiveException;
import io.paratrain.gradientsharing.exceptions.CollectiveInputException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(120)
@ExtendWith(NoMediaDriverLeft.class)
class CollectivesTest
{
    @TempDir
    Path driverBase;

    @Test
    void indArraysAreReducedInTheirOwnMemoryIncludingViews() throws Exception
    {
        try (TestRing ring = TestRing.connect(TestRing.config(driverBase, Transport.AUTO).build(), 3))
        {
            final List<INDArray> results = ring.onEveryRank(rank ->
            {
                final INDArray matrix = Nd4j.create(DataType.FLOAT, 4, 5).assign(rank + 1);
                final INDArray row = matrix.getRow(2); // a contiguous view at an offset
                final INDArray column = matrix.get(NDArrayIndex.all(), NDArrayIndex.point(1)); // strided view
                ring.ranks.get(rank).allReduce(row, ReduceOp.SUM);
                ring.ranks.get(rank).allReduce(column, ReduceOp.MEAN);
                return matrix;
            });
            final float[][] expected = new float[4][5];
            for (int rank = 0; rank < 3; rank++)
            {
                for (final float[] row : expected)
                {
                    java.util.Arrays.fill(row, rank + 1);
                }
                java.util.Arrays.fill(expected[2], 6f); // 1 + 2 + 3
                for (int r = 0; r < 4; r++)
                {
                    expected[r][1] = 2f; // mean of 1, 2 and 3
                }
                expected[2][1] = 6f; // row 2 was summed first, so its column element is 6 on every rank
                assertArrayEquals(expected[0], results.get(rank).getRow(0).toFloatVector(), "row 0 rank " + rank);
                assertArrayEquals(expected[1], results.get(rank).getRow(1).toFloatVector(), "row 1 rank " + rank);
                assertArrayEquals(expected[2], results.get(rank).getRow(2).toFloatVector(), "row 2 rank " + rank);
                assertArrayEquals(expected[3], results.get(rank).getRow(3).toFloatVector(), "row 3 rank " + rank);
            }
        }
    }

    @Test
    void indArraysOfAnotherTypeAreRefused() throws Exception
    {
        try (TestRing ring = TestRing.connect(TestRing.config(driverBase, Transport.AUTO).build(), 1))
        {
            final CollectiveInputException ex = assertThrows(CollectiveInputException.class,
                () -> ring.ranks.get(0).allReduce(Nd4j.create(DataType.DOUBLE, 3), ReduceOp.SUM));
            assertTrue(ex.getMessage().contains("expected a FLOAT array, got DOUBLE"), ex.getMessage());
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4})
    void broadcastCopiesTheRootsDataToEveryRank(final int worldSize) throws Exception
    {
        try (TestRing ring = TestRing.connect(TestRing.config(driverBase, Transport.AUTO).build(), worldSize))
        {
            final int root = worldSize - 1;
            final List<float[]> floats = ring.onEveryRank(rank ->
            {
                final float[] data = AllReduceTest.exactValues(40_000, rank);
                ring.ranks.get(rank).broadcast(data, root);
                return data;
            });
            final List<byte[]> bytes = ring.onEveryRank(rank -> ring.ranks.get(rank).broadcastBytes(
                rank == root ? "model config from the root".getBytes(StandardCharsets.UTF_8) : null, root));
            final List<INDArray> arrays = ring.onEveryRank(rank ->
            {
                final INDArray array = Nd4j.create(DataType.FLOAT, 3, 7).assign(rank);
                ring.ranks.get(rank).broadcast(array, 0);
                return array;
            });
            final List<ByteBuffer> buffers = ring.onEveryRank(rank ->
            {
                final ByteBuffer buffer = ByteBuffer.allocateDirect(100_000);
                for (int i = 0; i < buffer.capacity(); i++)
                {
                    buffer.put(i, (byte)(i * (rank + 1)));
                }
                ring.ranks.get(rank).broadcast(buffer, 0);
                return buffer;
            });
            for (int rank = 0; rank < worldSize; rank++)
            {
                assertArrayEquals(AllReduceTest.exactValues(40_000, root), floats.get(rank), "rank " + rank);
                assertEquals("model config from the root", new String(bytes.get(rank), StandardCharsets.UTF_8));
                assertArrayEquals(new long[] {3, 7}, arrays.get(rank).shape(), "rank " + rank);
                assertArrayEquals(new float[21], arrays.get(rank).data().asFloat(), "rank " + rank);
                for (int i = 0; i < 100_000; i++)
                {
                    assertEquals((byte)i, buffers.get(rank).get(i), "rank " + rank + " byte " + i);
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void allGatherReturnsEveryRanksBytesInRankOrderAndBarrierReturns(final Transport transport) throws Exception
    {
        try (TestRing ring = TestRing.connect(TestRing.config(driverBase, transport).build(), 4))
        {
            final List<byte[][]> gathered = ring.onEveryRank(rank ->
            {
                ring.ranks.get(rank).barrier();
                return ring.ranks.get(rank).allGather(("rank-" + rank + "x".repeat(rank * 100))
                    .getBytes(StandardCharsets.UTF_8));
            });
            for (final byte[][] items : gathered)
            {
                assertEquals(4, items.length);
                for (int r = 0; r < 4; r++)
                {
                    assertEquals("rank-" + r + "x".repeat(r * 100), new String(items[r], StandardCharsets.UTF_8));
                }
            }
        }
    }

    @Test
    void ranksPassingDifferentLengthsAllGetAClearError() throws Exception
    {
        try (TestRing ring = TestRing.connect(TestRing.config(driverBase, Transport.AUTO).build(), 3))
        {
            final List<Throwable> failures = ring.failuresOnEveryRank(rank ->
            {
                ring.ranks.get(rank).allReduce(new float[rank == 1 ? 12 : 10], ReduceOp.SUM);
                return null;
            });
            for (int rank = 0; rank < 3; rank++)
            {
                final Throwable failure = failures.get(rank);
                assertNotNull(failure, "rank " + rank + " must fail");
                assertInstanceOf(CollectiveException.class, failure, "rank " + rank);
                assertTrue(failure.getMessage().contains("passed 12") || failure.getMessage().contains("passed 10"),
                    "rank " + rank + ": " + failure.getMessage());
            }
            // a failed collective refuses further use on every rank
            for (final Collective collective : ring.ranks)
            {
                assertThrows(CollectiveClosedException.class, collective::barrier);
            }
        }
    }

    @Test
    void ranksCallingDifferentOperationsGetAClearError() throws Exception
    {
        try (TestRing ring = TestRing.connect(TestRing.config(driverBase, Transport.AUTO).build(), 2))
        {
            final List<Throwable> failures = ring.failuresOnEveryRank(rank ->
            {
                if (rank == 0)
                {
                    ring.ranks.get(rank).barrier();
                }
                else
                {
                    ring.ranks.get(rank).allReduce(new float[3], ReduceOp.SUM);
                }
                return null;
            });
            assertTrue(failures.get(0).getMessage().contains("called barrier"), failures.get(0).getMessage());
            assertTrue(failures.get(1).getMessage().contains("called allReduce(SUM)"), failures.get(1).getMessage());
        }
    }

    @Test
    void aClosedCollectiveRefusesEveryOperation() throws Exception
    {
        final TestRing ring = TestRing.connect(TestRing.config(driverBase, Transport.AUTO).build(), 2);
        ring.close();
        final Collective closed = ring.ranks.get(1);
        closed.close(); // idempotent
        final CollectiveClosedException ex = assertThrows(CollectiveClosedException.class,
            () -> closed.allReduce(new float[1], ReduceOp.SUM));
        assertEquals("allReduce on rank 1: the collective is closed", ex.getMessage());
        assertThrows(CollectiveClosedException.class, closed::barrier);
        assertThrows(CollectiveClosedException.class, () -> closed.allGather(new byte[0]));
        assertThrows(CollectiveClosedException.class, () -> closed.broadcast(new float[1], 0));
    }

    @Test
    void badArgumentsAreRefusedBeforeAnythingIsSent() throws Exception
    {
        try (TestRing ring = TestRing.connect(TestRing.config(driverBase, Transport.AUTO).build(), 2))
        {
            final Collective rank0 = ring.ranks.get(0);
            assertTrue(assertThrows(CollectiveInputException.class, () -> rank0.broadcast(new float[1], 2))
                .getMessage().contains("root 2 is not a rank of this ring (0..1)"));
            assertTrue(assertThrows(CollectiveInputException.class,
                () -> rank0.allReduce(ByteBuffer.allocate(8), ReduceOp.SUM)).getMessage().contains("heap buffer"));
            assertTrue(assertThrows(CollectiveInputException.class,
                () -> rank0.allReduce(ByteBuffer.allocateDirect(7), ReduceOp.SUM)).getMessage()
                .contains("not a multiple of 4"));
            assertTrue(assertThrows(CollectiveInputException.class,
                () -> rank0.allGather(new byte[rank0.maxGatherBytes() + 1])).getMessage().contains("one frame"));
            // the ring is still usable after refused arguments
            final List<float[]> sums = ring.onEveryRank(rank ->
            {
                final float[] data = {rank, 1};
                ring.ranks.get(rank).allReduce(data, ReduceOp.SUM);
                return data;
            });
            assertArrayEquals(new float[] {1, 2}, sums.get(0));
            assertArrayEquals(new float[] {1, 2}, sums.get(1));
        }
    }
}
