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

/**
 * Hand-computed values for a 4 -> 3 ReLU layer split by rows into two shards of two rows (the second half of a
 * Megatron pair), the shards' inputs being the previous layer's column blocks H_0, H_1.
 * <pre>
 *   H = [H_0 H_1] = |  1 2 | 0 1 |    W = | 1  0  2 |  rows 0, 1: shard 0    b = [0.5 -1 0]
 *                   | -1 0 | 2 1 |        | 0  1 -1 |
 *                                         | 1 -1  0 |  rows 2, 3: shard 1
 *                                         | 2  0  1 |
 *   P_0 = H_0 W_0 = | 1 2 0 |   P_1 = H_1 W_1 = | 2  0 1 |   Z = P_0 + P_1 + b = | 3.5  1  1 |
 *                   |-1 0 -2|                   | 4 -2 1 |                       | 3.5 -3 -1 |
 *   dH = | 1   2 -1 |   dZ = relu'(Z) (.) dH = | 1   2 -1 |   db = [1.5 2 -1]
 *        | 0.5 1  1 |                          | 0.5 0  0 |
 * </pre>
 */
class RowShardTest
{
    private static final INDArray H0 = matrix(new float[][] {{1, 2}, {-1, 0}});
    private static final INDArray H1 = matrix(new float[][] {{0, 1}, {2, 1}});
    private static final INDArray W = matrix(new float[][] {{1, 0, 2}, {0, 1, -1}, {1, -1, 0}, {2, 0, 1}});
    private static final INDArray B = matrix(new float[][] {{0.5f, -1, 0}});
    private static final INDArray DH = matrix(new float[][] {{1, 2, -1}, {0.5f, 1, 1}});
    private static final List<ColumnRange> ROWS = ColumnRange.split(4, 2, "layer 1 (rows)");

    private static INDArray matrix(final float[][] rows)
    {
        return Nd4j.createFromArray(rows).castTo(DataType.FLOAT);
    }

    /** Shard r with its rows of W taken through the layout from DL4J's column-major flat W; b on shard 0. */
    private static RowShard shard(final int r)
    {
        final DenseLayer conf = new DenseLayer.Builder().nIn(4).nOut(3).activation(Activation.RELU)
            .updater(new Sgd(0.1)).build();
        final RowShard shard = new RowShard("rows " + r, conf, ROWS.get(r), 3, r == 0, true, DataType.FLOAT, true);
        shard.weightItems().get(0).assign(new SliceLayout.Rows(ROWS, 4, 3).cut(Nd4j.toFlattened('f', W), r));
        if (r == 0)
        {
            shard.biasItems().get(0).assign(B);
        }
        return shard;
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
    void forwardBackwardAndUpdateOfTwoRowShards()
    {
        final RowShard shard0 = shard(0);
        final RowShard shard1 = shard(1);
        assertMatrix(new float[][] {{1, 0, 2}, {0, 1, -1}}, shard0.weights());
        assertMatrix(new float[][] {{1, -1, 0}, {2, 0, 1}}, shard1.weights());

        final INDArray p0 = shard0.partial(H0);
        final INDArray p1 = shard1.partial(H1);
        assertMatrix(new float[][] {{1, 2, 0}, {-1, 0, -2}}, p0);
        assertMatrix(new float[][] {{2, 0, 1}, {4, -2, 1}}, p1);
        final INDArray h = shard0.finishForward(p0.add(p1), false);   // what the sum-reduce hands rank 0
        assertMatrix(new float[][] {{3.5f, 1, 1}, {3.5f, 0, 0}}, h);

        final INDArray dz = shard0.preActivationGradient(DH, false);
        assertMatrix(new float[][] {{1, 2, -1}, {0.5f, 0, 0}}, dz);
        // dH_r = dZ W_r^T, each shard's input gradient, local to its rank
        assertMatrix(new float[][] {{-1, 3}, {0.5f, 0}}, shard0.backward(dz));
        assertMatrix(new float[][] {{-1, 1}, {0.5f, 1}}, shard1.backward(dz));

        // Sgd(0.1) on the minibatch mean (batch 2): W_r -= 0.05 dW_r, dW_r = H_r^T dZ; b -= 0.05 db.
        // dW_0 = | 0.5 2 -1 |   dW_1 = | 1   0  0 |   db = [1.5 2 -1]
        //        | 2   4 -2 |          | 1.5 2 -1 |
        shard0.update(2, 0, 0);
        shard1.update(2, 0, 0);
        assertMatrix(new float[][] {{0.975f, -0.1f, 2.05f}, {-0.1f, 0.8f, -0.9f}}, shard0.weights());
        assertMatrix(new float[][] {{0.95f, -1, 0}, {1.925f, -0.1f, 1.05f}}, shard1.weights());
        assertMatrix(new float[][] {{0.425f, -1.1f, 0.05f}}, shard0.bias());
        assertEquals(List.of(), shard1.biasItems(), "only rank 0 holds the bias");
    }

    @Test
    void gatheredRowSlicesGoBackToDl4jsColumnMajorFlatW()
    {
        final SliceLayout layout = new SliceLayout.Rows(ROWS, 4, 3);
        final INDArray gathered = Nd4j.hstack(shard(0).weightItems().get(0), shard(1).weightItems().get(0));
        final INDArray flat = Nd4j.zeros(DataType.FLOAT, 1, 12);
        layout.place(gathered, flat);
        assertArrayEquals(Nd4j.toFlattened('f', W).toFloatVector(), flat.toFloatVector());
        assertArrayEquals(new int[] {24, 24}, layout.blockBytes(2));
    }
}
