package io.paratrain.modelsplit.internal;

import io.paratrain.modelsplit.SliceUpdater;
import io.paratrain.modelsplit.exceptions.SplitInputException;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.util.Arrays;
import java.util.List;

/**
 * Shard i of a dense layer split by columns: W_i (nIn x w_i), b_i (1 x w_i) and the updater state of that slice.
 * <pre>
 *   forward:   Z_i = X W_i + b_i,   H_i = act(Z_i)           (act element-wise, so H = [H_1 ... H_N])
 *   backward:  dZ_i = act'(Z_i) (.) dH_i                     (IActivation.backprop)
 *              dW_i = X^T dZ_i,   db_i = sum over rows of dZ_i   (sums over the minibatch, as DL4J)
 *              dX_i = dZ_i W_i^T                              (partial: dX = sum_i dX_i)
 *   update:    W_i, b_i -= DL4J updater step of (dW_i, db_i)  ({@link SliceUpdater})
 * </pre>
 * W_i is kept as a flat row in column-major order, like DL4J's parameter view of W, so the columns [c0, c1) of the
 * full W are elements [c0 * nIn, c1 * nIn) of the full layer's flat W.
 * Not thread-safe; one forward, then one backward, then one update per step.
 */
public final class ColumnShard
{
    private final String name;
    private final ColumnRange range;
    private final IActivation activation;
    private final long nIn;
    private final INDArray weightRow;
    private final INDArray weights;
    private final INDArray bias;
    private final INDArray weightGradient;
    private final INDArray biasGradient;
    private final SliceUpdater weightUpdater;
    private final SliceUpdater biasUpdater;
    private INDArray input;
    private INDArray preActivation;

    /**
     * @param fullWeights the whole layer's W (nIn x nOut); columns {@code range} are copied.
     * @param fullBias    the whole layer's b (1 x nOut), or null for a layer without bias.
     */
    public ColumnShard(final String name, final BaseLayer layer, final INDArray fullWeights, final INDArray fullBias,
                       final ColumnRange range, final boolean divideByMinibatch)
    {
        this(name, layer, fullWeights.rows(), range, fullBias != null, fullWeights.dataType(), divideByMinibatch);
        weights.assign(fullWeights.get(NDArrayIndex.all(), NDArrayIndex.interval(range.start(), range.end())));
        if (fullBias != null)
        {
            bias.assign(fullBias.get(NDArrayIndex.interval(0, 0, true),
                NDArrayIndex.interval(range.start(), range.end())));
        }
    }

    /** A shard of zeros (parameters and updater state), filled by the caller: what a rank allocates for its slice. */
    public ColumnShard(final String name, final BaseLayer layer, final long nIn, final ColumnRange range,
                       final boolean hasBias, final DataType type, final boolean divideByMinibatch)
    {
        this.name = name;
        this.range = range;
        this.activation = layer.getActivationFn();
        this.nIn = nIn;
        final long w = range.width();
        // W_i and b_i are separate arrays, not views of one row: ND4J's element-wise ops (the updater) ran 2-3x
        // slower on views of a larger buffer.
        this.weightRow = Nd4j.zeros(type, 1, nIn * w);
        final INDArray weightGradientRow = Nd4j.zeros(type, 1, nIn * w);
        this.weights = weightRow.reshape('f', nIn, w);
        this.weightGradient = weightGradientRow.reshape('f', nIn, w);
        this.weightUpdater = new SliceUpdater(weightRow, weightGradientRow, layer.getUpdaterByParam("W"),
            layer.getRegularizationByParam("W"), divideByMinibatch);

        if (!hasBias)
        {
            this.bias = null;
            this.biasGradient = null;
            this.biasUpdater = null;
        }
        else
        {
            this.bias = Nd4j.zeros(type, 1, w);
            this.biasGradient = Nd4j.zeros(type, 1, w);
            this.biasUpdater = new SliceUpdater(bias, biasGradient, layer.getUpdaterByParam("b"),
                layer.getRegularizationByParam("b"), divideByMinibatch);
        }
    }

    /** Z_i = X W_i + b_i; remembers X for the backward pass. */
    public INDArray preActivation(final INDArray x)
    {
        if (x.rank() != 2 || x.columns() != nIn)
        {
            throw new SplitInputException(name + ": expected an input of shape [batch, " + nIn + "], found "
                + Arrays.toString(x.shape()));
        }
        input = x.castTo(weights.dataType());
        preActivation = input.mmul(weights);
        if (bias != null)
        {
            preActivation.addiRowVector(bias);
        }
        return preActivation;
    }

    /** H_i = act(Z_i); Z_i is kept for the backward pass (DL4J activations work in place, hence the copy). */
    public INDArray forward(final INDArray x)
    {
        return activation.getActivation(preActivation(x).dup(), true);
    }

    /**
     * dZ_i = act'(Z_i) (.) dH_i, then {@link #backwardFromPreActivation}.
     *
     * @param outputGradient dH_i, [batch, w_i].
     */
    public INDArray backward(final INDArray outputGradient, final boolean wantInputGradient)
    {
        requireForward();
        checkBlock(outputGradient, "dH");
        final INDArray dz = activation.backprop(preActivation, outputGradient).getFirst();
        return backwardFromPreActivation(dz, wantInputGradient);
    }

    /**
     * From dZ_i (used as is by an output layer, whose loss gives dZ for the full row): stores dW_i = X^T dZ_i and
     * db_i = column sums of dZ_i, and returns dX_i = dZ_i W_i^T computed with the weights before the update, or
     * null when not wanted (first layer).
     */
    public INDArray backwardFromPreActivation(final INDArray dz, final boolean wantInputGradient)
    {
        requireForward();
        checkBlock(dz, "dZ");
        Nd4j.gemm(input, dz, weightGradient, true, false, 1.0, 0.0);
        if (bias != null)
        {
            dz.sum(biasGradient, 0);
        }
        preActivation = null;
        input = null;
        // DL4J's form of dZ W^T: (W dZ^T)^T.
        return wantInputGradient ? weights.mmul(dz.transpose()).transpose() : null;
    }

    /** W_i, b_i -= DL4J's updater step for the stored gradient sums of a minibatch of {@code batchSize}. */
    public void update(final int batchSize, final int iteration, final int epoch)
    {
        weightUpdater.update(batchSize, iteration, epoch);
        if (biasUpdater != null)
        {
            biasUpdater.update(batchSize, iteration, epoch);
        }
    }

    private void requireForward()
    {
        if (input == null)
        {
            throw new IllegalStateException(name + ": backward without a preceding forward");
        }
    }

    private void checkBlock(final INDArray block, final String what)
    {
        if (block.rank() != 2 || block.rows() != input.rows() || block.columns() != range.width())
        {
            throw new SplitInputException(name + ": expected " + what + " of shape [" + input.rows() + ", "
                + range.width() + "], found " + Arrays.toString(block.shape()));
        }
    }

    public String name()
    {
        return name;
    }

    public ColumnRange range()
    {
        return range;
    }

    /** W_i, nIn x w_i (a view of the shard's parameters). */
    public INDArray weights()
    {
        return weights;
    }

    /** b_i, 1 x w_i, or null. */
    public INDArray bias()
    {
        return bias;
    }

    /** dW_i after {@link #backward}; holds the update itself after {@link #update}. */
    public INDArray weightGradient()
    {
        return weightGradient;
    }

    /** db_i after {@link #backward}; holds the update itself after {@link #update}. */
    public INDArray biasGradient()
    {
        return biasGradient;
    }

    /** The updater of "W" or "b". */
    public SliceUpdater updater(final String param)
    {
        return "W".equals(param) ? weightUpdater : biasUpdater;
    }

    /**
     * The values of param ("W": flat column-major, "b") then its updater state components: what is gathered and
     * scattered; empty for "b" without bias.
     */
    public List<INDArray> items(final String param)
    {
        if ("W".equals(param))
        {
            return RowShard.items(weightRow, weightUpdater);
        }
        return bias == null ? List.of() : RowShard.items(bias, biasUpdater);
    }

    /** A view [1, n] of W_i's flat (column-major) values, for weight initialisation. */
    INDArray weightRow()
    {
        return weightRow;
    }

    /** Where this shard's part of param ("W" or "b") lies in the full layer's flat parameter of that name. */
    public long[] flatInterval(final String param)
    {
        return "W".equals(param)
            ? new long[] {range.start() * nIn, range.end() * nIn}
            : new long[] {range.start(), range.end()};
    }
}
