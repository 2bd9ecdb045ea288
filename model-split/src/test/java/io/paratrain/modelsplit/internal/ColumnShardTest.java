package io.paratrain.modelsplit.internal;

import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Sgd;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.nd4j.linalg.indexing.NDArrayIndex.all;
import static org.nd4j.linalg.indexing.NDArrayIndex.interval;

/**
 * Hand-computed values for a 3 -> 4 layer split into two shards of two columns each.
 * <pre>
 *   X = | 1  2  0 |     W = | 1  0  2 -1 |     b = [0.5 -0.5 1 0]
 *       | 0 -1  3 |         | 0  1 -1  1 |
 *                           | 1 -1  0  2 |
 *   shard 0 (columns 0,1): Z_0 = X W_0 + b_0 = | 1.5  1.5 |    shard 1 (columns 2,3): Z_1 = | 1 1 |
 *                                              | 3.5 -4.5 |                               | 2 5 |
 *   dH = | 1   0 -1  2 |
 *        | 0.5 1  1 -1 |
 * </pre>
 */
class ColumnShardTest
{
    private static final INDArray X = matrix(new float[][] {{1, 2, 0}, {0, -1, 3}});
    private static final INDArray W = matrix(new float[][] {{1, 0, 2, -1}, {0, 1, -1, 1}, {1, -1, 0, 2}});
    private static final INDArray B = matrix(new float[][] {{0.5f, -0.5f, 1, 0}});
    private static final INDArray DH = matrix(new float[][] {{1, 0, -1, 2}, {0.5f, 1, 1, -1}});

    private static INDArray matrix(final float[][] rows)
    {
        return Nd4j.createFromArray(rows).castTo(DataType.FLOAT);
    }

    private static SplitDenseLayer layer(final Activation activation)
    {
        final DenseLayer conf = new DenseLayer.Builder().nIn(3).nOut(4).activation(activation)
            .updater(new Sgd(0.1)).build();
        return SplitDenseLayer.of(0, conf, W, B, 2, true);
    }

    private static void assertMatrix(final float[][] expected, final INDArray actual)
    {
        assertArrayEquals(new long[] {expected.length, expected[0].length}, actual.shape());
        for (int r = 0; r < expected.length; r++)
        {
            assertArrayEquals(expected[r], actual.getRow(r).toFloatVector(), 1e-6f, "row " + r);
        }
    }

    @Test
    void identityForwardGivesEachShardItsColumnsAndStacksThem()
    {
        final SplitDenseLayer layer = layer(Activation.IDENTITY);
        final ColumnShard shard0 = layer.shards().get(0);
        final ColumnShard shard1 = layer.shards().get(1);
        assertMatrix(new float[][] {{1.5f, 1.5f}, {3.5f, -4.5f}}, shard0.forward(X));
        assertMatrix(new float[][] {{1, 1}, {2, 5}}, shard1.forward(X));

        assertMatrix(new float[][] {{1.5f, 1.5f, 1, 1}, {3.5f, -4.5f, 2, 5}}, layer.forward(X));
    }

    @Test
    void reluForwardAndBackwardPerShard()
    {
        final SplitDenseLayer layer = layer(Activation.RELU);
        final ColumnShard shard0 = layer.shards().get(0);
        final ColumnShard shard1 = layer.shards().get(1);
        assertMatrix(new float[][] {{1.5f, 1.5f}, {3.5f, 0}}, shard0.forward(X));
        assertMatrix(new float[][] {{1, 1}, {2, 5}}, shard1.forward(X));

        // Shard 0: Z_0 = [[1.5, 1.5], [3.5, -4.5]] so the ReLU mask is [[1, 1], [1, 0]]; dZ_0 = [[1, 0], [0.5, 0]].
        // dW_0 = X^T dZ_0 = [[1, 0], [1.5, 0], [1.5, 0]], db_0 = [1.5, 0], dX_0 = dZ_0 W_0^T = [[1, 0, 1], [0.5, 0, 0.5]].
        final INDArray dx0 = shard0.backward(DH.get(all(), interval(0, 2)).dup(), true);
        assertMatrix(new float[][] {{1, 0}, {1.5f, 0}, {1.5f, 0}}, shard0.weightGradient());
        assertMatrix(new float[][] {{1.5f, 0}}, shard0.biasGradient());
        assertMatrix(new float[][] {{1, 0, 1}, {0.5f, 0, 0.5f}}, dx0);

        // Shard 1: Z_1 > 0 everywhere, dZ_1 = dH_1 = [[-1, 2], [1, -1]].
        // dW_1 = [[-1, 2], [-3, 5], [3, -3]], db_1 = [0, 1], dX_1 = dZ_1 W_1^T = [[-4, 3, 4], [3, -2, -2]].
        final INDArray dx1 = shard1.backward(DH.get(all(), interval(2, 4)).dup(), true);
        assertMatrix(new float[][] {{-1, 2}, {-3, 5}, {3, -3}}, shard1.weightGradient());
        assertMatrix(new float[][] {{0, 1}}, shard1.biasGradient());
        assertMatrix(new float[][] {{-4, 3, 4}, {3, -2, -2}}, dx1);

        assertMatrix(new float[][] {{-3, 3, 5}, {3.5f, -2, -1.5f}}, ColumnBlocks.sumPartials(List.of(dx0, dx1)));
    }

    @Test
    void splitLayerBackwardSumsThePartialsAndSgdUpdatesEachSlice()
    {
        final SplitDenseLayer layer = layer(Activation.RELU);
        layer.forward(X);
        assertMatrix(new float[][] {{-3, 3, 5}, {3.5f, -2, -1.5f}}, layer.backward(DH, true));

        // Sgd(0.1), batch 2: W_i -= 0.1 * dW_i / 2.
        layer.update(2, 0, 0);
        assertMatrix(new float[][] {{0.95f, 0}, {-0.075f, 1}, {0.925f, -1}}, layer.shards().get(0).weights());
        assertMatrix(new float[][] {{0.425f, -0.5f}}, layer.shards().get(0).bias());
        assertMatrix(new float[][] {{2.05f, -1.1f}, {-0.85f, 0.75f}, {-0.15f, 2.15f}}, layer.shards().get(1).weights());
        assertMatrix(new float[][] {{1, -0.05f}}, layer.shards().get(1).bias());
    }

    @Test
    void firstLayerSkipsTheInputGradient()
    {
        final SplitDenseLayer layer = layer(Activation.IDENTITY);
        layer.forward(X);
        assertNull(layer.backward(DH, false));
        // Identity: dZ = dH, so db_1 = column sums of dH's columns 2, 3 = [0, 1].
        assertMatrix(new float[][] {{0, 1}}, layer.shards().get(1).biasGradient());
    }

    @Test
    void unevenColumnsDifferByAtMostOne()
    {
        assertEquals(List.of(new ColumnRange(0, 6), new ColumnRange(6, 11), new ColumnRange(11, 16)),
            ColumnRange.split(16, 3, "layer"));
        assertEquals(List.of(new ColumnRange(0, 2), new ColumnRange(2, 3), new ColumnRange(3, 4)),
            ColumnRange.split(4, 3, "layer"));
        assertEquals(List.of(new ColumnRange(0, 5)), ColumnRange.split(5, 1, "layer"));
    }
}
