package io.paratrain.modelsplit.internal;

import io.paratrain.modelsplit.SliceUpdater;
import io.paratrain.modelsplit.exceptions.SplitInputException;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Shard r of a dense or output layer split by rows (the second layer of a Megatron pair): W_r = rows
 * [c_r, c_r+1) of W (w_r x nOut), whose input H_r (B x w_r) is the previous layer's column shard r output, kept on
 * the same rank. The bias b, the activation and Z live on rank 0 only (the "head"):
 * <pre>
 *   forward:   P_r = H_r W_r;   rank 0: Z = sum_r P_r + b  (sum-reduce),  H = act(Z)  (Z for the output layer)
 *   backward:  rank 0: dZ = act'(Z) (.) dH, db = sum over rows of dZ;  dZ broadcast to every shard;
 *              dW_r = H_r^T dZ,   dH_r = dZ W_r^T   (local: the input gradient of the paired column shard r)
 *   update:    W_r (and b on rank 0) with DL4J's updater, as {@link SliceUpdater}
 * </pre>
 * W_r is kept flat in row-major order, so the rank-ordered gather of the slices is W in row-major order.
 */
public final class RowShard
{
    private final String name;
    private final ColumnRange rows;
    private final long nOut;
    private final IActivation activation;
    private final INDArray weightRow;
    private final INDArray weights;
    private final INDArray weightGradientRow;
    private final INDArray weightGradientT;
    private final SliceUpdater weightUpdater;
    private final INDArray bias;
    private final INDArray biasGradient;
    private final SliceUpdater biasUpdater;
    private INDArray input;
    private INDArray preActivation;

    /**
     * A shard of zeros (filled by the caller).
     *
     * @param head true on rank 0, which also holds the bias (when the layer has one) and applies the activation.
     */
    public RowShard(final String name, final BaseLayer layer, final ColumnRange rows, final long nOut,
                    final boolean head, final boolean hasBias, final DataType type, final boolean divideByMinibatch)
    {
        this.name = name;
        this.rows = rows;
        this.nOut = nOut;
        this.activation = layer.getActivationFn();
        final long length = rows.width() * nOut;
        this.weightRow = Nd4j.zeros(type, 1, length);
        this.weights = weightRow.reshape('c', rows.width(), nOut);
        this.weightGradientRow = Nd4j.zeros(type, 1, length);
        this.weightGradientT = weightGradientRow.reshape('f', nOut, rows.width());
        this.weightUpdater = new SliceUpdater(weightRow, weightGradientRow, layer.getUpdaterByParam("W"),
            layer.getRegularizationByParam("W"), divideByMinibatch);
        if (head && hasBias)
        {
            this.bias = Nd4j.zeros(type, 1, nOut);
            this.biasGradient = Nd4j.zeros(type, 1, nOut);
            this.biasUpdater = new SliceUpdater(bias, biasGradient, layer.getUpdaterByParam("b"),
                layer.getRegularizationByParam("b"), divideByMinibatch);
        }
        else
        {
            this.bias = null;
            this.biasGradient = null;
            this.biasUpdater = null;
        }
    }

    /** P_r = H_r W_r; remembers H_r. */
    public INDArray partial(final INDArray h)
    {
        if (h.rank() != 2 || h.columns() != rows.width())
        {
            throw new SplitInputException(name + ": expected an input of shape [batch, " + rows.width() + "], found "
                + Arrays.toString(h.shape()));
        }
        input = h.castTo(weights.dataType());
        return input.mmul(weights);
    }

    /** Rank 0: Z = (sum of partials) + b, kept for the backward pass; returns act(Z), or Z for an output layer. */
    public INDArray finishForward(final INDArray partialSum, final boolean outputLayer)
    {
        preActivation = partialSum.reshape('c', input.rows(), nOut);
        if (bias != null)
        {
            preActivation.addiRowVector(bias);
        }
        return outputLayer ? preActivation : activation.getActivation(preActivation.dup(), true);
    }

    /** Rank 0: dZ from dH (or dZ itself for an output layer, whose loss gives it), and db = column sums of dZ. */
    public INDArray preActivationGradient(final INDArray gradient, final boolean outputLayer)
    {
        if (preActivation == null)
        {
            throw new IllegalStateException(name + ": backward without a preceding forward on rank 0");
        }
        final INDArray dz = outputLayer ? gradient : activation.backprop(preActivation, gradient).getFirst();
        if (bias != null)
        {
            dz.sum(biasGradient, 0);
        }
        preActivation = null;
        return dz;
    }

    /** Stores dW_r = H_r^T dZ and returns dH_r = dZ W_r^T, computed with the weights before the update. */
    public INDArray backward(final INDArray dz)
    {
        if (input == null)
        {
            throw new IllegalStateException(name + ": backward without a preceding forward");
        }
        if (dz.rank() != 2 || dz.rows() != input.rows() || dz.columns() != nOut)
        {
            throw new SplitInputException(name + ": expected dZ of shape [" + input.rows() + ", " + nOut
                + "], found " + Arrays.toString(dz.shape()));
        }
        // dW_r = H_r^T dZ (w_r x nOut, row-major) is, in memory, dZ^T H_r (nOut x w_r) in column-major order: one
        // gemm straight into the gradient (transposed views through mmul made ND4J copy and ran 5x slower).
        Nd4j.gemm(dz, input, weightGradientT, true, false, 1.0, 0.0);
        input = null;
        final INDArray inputGradient = Nd4j.createUninitialized(dz.dataType(), new long[] {dz.rows(), rows.width()}, 'c');
        Nd4j.gemm(dz, weights, inputGradient, false, true, 1.0, 0.0);   // dH_r = dZ W_r^T
        return inputGradient;
    }

    public void update(final int batchSize, final int iteration, final int epoch)
    {
        weightUpdater.update(batchSize, iteration, epoch);
        if (biasUpdater != null)
        {
            biasUpdater.update(batchSize, iteration, epoch);
        }
    }

    /** W_r's values (flat, row-major) then its updater state components: what is gathered and scattered. */
    public List<INDArray> weightItems()
    {
        return items(weightRow, weightUpdater);
    }

    /** On rank 0: b's values then its updater state components; empty elsewhere or without bias. */
    public List<INDArray> biasItems()
    {
        return bias == null ? List.of() : items(bias, biasUpdater);
    }

    static List<INDArray> items(final INDArray values, final SliceUpdater updater)
    {
        final List<INDArray> items = new ArrayList<>();
        items.add(values);
        for (int c = 0; c < updater.stateComponents(); c++)
        {
            items.add(updater.stateComponent(c));
        }
        return items;
    }

    /** W_r, w_r x nOut (a view of the shard's flat row-major values). */
    public INDArray weights()
    {
        return weights;
    }

    /** b (rank 0), or null. */
    public INDArray bias()
    {
        return bias;
    }

    public ColumnRange rows()
    {
        return rows;
    }

    /** A view [1, n] of W_r's flat values, for weight initialisation. */
    INDArray weightRow()
    {
        return weightRow;
    }
}
