package io.paratrain.sparktrainer.internal.batchnorm;

import io.paratrain.gradientsharing.Collective;
import io.paratrain.gradientsharing.ReduceOp;
import io.paratrain.sparktrainer.exceptions.TrainingInputException;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.layers.normalization.BatchNormalizationHelper;
import org.deeplearning4j.nn.params.BatchNormalizationParamInitializer;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.broadcast.BroadcastAddOp;
import org.nd4j.linalg.api.ops.impl.broadcast.BroadcastDivOp;
import org.nd4j.linalg.api.ops.impl.broadcast.BroadcastMulOp;
import org.nd4j.linalg.api.ops.impl.broadcast.BroadcastSubOp;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;

import java.util.Map;

/**
 * Synchronized batch normalization for one BatchNormalization layer of one replica: the statistics are those of
 * the GLOBAL batch (all replicas' examples of the step), so N replicas x b compute what one process computes at
 * batch N x b. DL4J calls it through its helper hook ({@link BatchNormalizationHelper}, the slot its cuDNN and
 * oneDNN helpers use) from the layer's own forward and backward pass.
 * <p>
 * Per channel c, with the sums over every replica's examples (and, for 4D input, every position), M the global
 * count of values per channel (examples x height x width), each sum an all-reduce over the replicas:
 * <pre>
 *   forward   mu  = (sum x) / M                          all-reduce [sum x, local count]
 *             var = (sum (x - mu)^2) / M                 all-reduce [sum (x - mu)^2]   (two passes, as DL4J)
 *             xhat = (x - mu) / sqrt(var + eps),   y = gamma xhat + beta
 *   backward  with g = dL/dy:  G1 = sum g,  G2 = sum g xhat          all-reduce [G1, G2]
 *             dL/dx = gamma / sqrt(var + eps) * (g - G1 / M - xhat G2 / M)
 *             dL/dbeta, dL/dgamma: this replica's LOCAL sums of g and g xhat; the gradient all-reduce of the step
 *             adds them into G1 and G2, exactly as for every other parameter.
 * </pre>
 * DL4J then derives the running-statistics "gradient" from {@link #getMeanCache}/{@link #getVarCache}, the global
 * mu and var, so it is the same on every replica: {@link SyncBatchNorm} lets one replica contribute it to the sum.
 * <p>
 * The count is all-reduced too: the last step's slices may differ by one example, and a replica with no example
 * takes part with zeros through {@link #sitOutForward}/{@link #sitOutBackward}.
 * <p>
 * Time series (DL4J normalizes them between an RnnToFeedForwardPreProcessor and a FeedForwardToRnnPreProcessor,
 * each channel over examples x time steps) are exact because every replica's minibatch has as many time steps as the
 * single process's: DL4J's BatchNormalization ignores masks, so a padded step counts in M with the value the layer
 * before gives it, and the replicas pad their slices to the step's longest sequence, as the single process pads
 * ({@code StepPadding}; padded to their own slice's longest, they differed by 0.03-0.04 relative, running mean
 * 0.14-0.16).
 * <p>
 * At inference (not training) the layer normalizes with its running statistics, locally. The arrays passed between
 * the calls live outside DL4J's workspaces; the all-reduce buffers are allocated once.
 */
final class SyncBatchNormHelper implements BatchNormalizationHelper
{
    private final Collective collective;
    /** Index and name, for messages. */
    private final String layer;
    private final int channels;
    private final double fixedGamma;
    private final double fixedBeta;
    /** [sum x (channels), count]. */
    private final INDArray sums;
    /** [sum (x - mu)^2 (channels)]. */
    private final INDArray squares;
    /** [sum g (channels), sum g xhat (channels)]. */
    private final INDArray gradientSums;
    private final INDArray mean;
    private final INDArray variance;
    private final INDArray std;

    SyncBatchNormHelper(final Collective collective, final String layer, final int channels, final double fixedGamma,
        final double fixedBeta)
    {
        this.collective = collective;
        this.layer = layer;
        this.channels = channels;
        this.fixedGamma = fixedGamma;
        this.fixedBeta = fixedBeta;
        try (MemoryWorkspace ignored = Nd4j.getMemoryManager().scopeOutOfWorkspaces())
        {
            sums = Nd4j.zeros(DataType.FLOAT, channels + 1);
            squares = Nd4j.zeros(DataType.FLOAT, channels);
            gradientSums = Nd4j.zeros(DataType.FLOAT, 2L * channels);
            mean = Nd4j.zeros(DataType.FLOAT, channels);
            variance = Nd4j.zeros(DataType.FLOAT, channels);
            std = Nd4j.zeros(DataType.FLOAT, channels);
        }
    }

    @Override
    public INDArray preOutput(final INDArray x, final boolean training, final long[] shape, final INDArray gamma,
        final INDArray beta, final INDArray runningMean, final INDArray runningVar, final double decay,
        final double eps, final CNN2DFormat format, final LayerWorkspaceMgr workspaceMgr)
    {
        final int axis = channelAxis(x, format);
        final int[] others = otherAxes(axis);
        final INDArray xMu;
        final INDArray scale;
        if (training)
        {
            channels(sums).assign(x.sum(others));
            sums.putScalar(channels, x.length() / channels);
            collective.allReduce(sums, ReduceOp.SUM);
            final float globalCount = sums.getFloat(channels);
            mean.assign(channels(sums).div(globalCount));
            xMu = Nd4j.getExecutioner().exec(new BroadcastSubOp(x, mean, x.ulike(), axis));
            squares.assign(xMu.mul(xMu).sum(others));
            collective.allReduce(squares, ReduceOp.SUM);
            variance.assign(squares.div(globalCount));
            std.assign(Transforms.sqrt(variance.add(eps), false));
            scale = std;
        }
        else
        {
            xMu = Nd4j.getExecutioner().exec(new BroadcastSubOp(x, runningMean.reshape(channels), x.ulike(), axis));
            scale = Transforms.sqrt(runningVar.reshape(channels).add(eps), false);
        }
        final INDArray out = workspaceMgr.createUninitialized(ArrayType.ACTIVATIONS, x.dataType(), x.shape(),
            x.ordering());
        Nd4j.getExecutioner().exec(new BroadcastDivOp(xMu, scale, out, axis));
        if (gamma == null)
        {
            return out.muli(fixedGamma).addi(fixedBeta);
        }
        Nd4j.getExecutioner().exec(new BroadcastMulOp(out, gamma.reshape(channels), out, axis));
        return Nd4j.getExecutioner().exec(new BroadcastAddOp(out, beta.reshape(channels), out, axis));
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(final INDArray input, final INDArray epsilon, final long[] shape,
        final INDArray gamma, final INDArray beta, final INDArray dGammaView, final INDArray dBetaView,
        final double eps, final CNN2DFormat format, final LayerWorkspaceMgr workspaceMgr)
    {
        final int axis = channelAxis(input, format);
        final int[] others = otherAxes(axis);
        final INDArray xHat = Nd4j.getExecutioner().exec(new BroadcastSubOp(input, mean, input.ulike(), axis));
        Nd4j.getExecutioner().exec(new BroadcastDivOp(xHat, std, xHat, axis));
        final INDArray localG1 = epsilon.sum(others);
        final INDArray localG2 = epsilon.mul(xHat).sum(others);
        channels(gradientSums).assign(localG1);
        gradientSums.get(NDArrayIndex.interval(channels, 2L * channels)).assign(localG2);
        collective.allReduce(gradientSums, ReduceOp.SUM);
        final float count = sums.getFloat(channels);
        final INDArray meanG = channels(gradientSums).div(count);
        final INDArray meanGXhat = gradientSums.get(NDArrayIndex.interval(channels, 2L * channels)).div(count);
        final INDArray dx = workspaceMgr.createUninitialized(ArrayType.ACTIVATION_GRAD, input.dataType(),
            input.shape(), input.ordering());
        Nd4j.getExecutioner().exec(new BroadcastMulOp(xHat, meanGXhat, xHat, axis));
        Nd4j.getExecutioner().exec(new BroadcastSubOp(epsilon, meanG, dx, axis));
        dx.subi(xHat);
        final INDArray coefficient = gamma == null ? std.rdiv(fixedGamma) : gamma.reshape(channels).div(std);
        Nd4j.getExecutioner().exec(new BroadcastMulOp(dx, coefficient, dx, axis));
        final Gradient gradient = new DefaultGradient();
        if (dGammaView != null)
        {
            dGammaView.assign(localG2.reshape(dGammaView.shape()));
            dBetaView.assign(localG1.reshape(dBetaView.shape()));
            if (gamma != null && beta != null)
            {
                gradient.setGradientFor(BatchNormalizationParamInitializer.GAMMA, dGammaView);
                gradient.setGradientFor(BatchNormalizationParamInitializer.BETA, dBetaView);
            }
        }
        return new Pair<>(gradient, dx);
    }

    /** The forward pass's all-reduces with a zero contribution, for a replica without examples in a step. */
    void sitOutForward()
    {
        sums.assign(0);
        collective.allReduce(sums, ReduceOp.SUM);
        squares.assign(0);
        collective.allReduce(squares, ReduceOp.SUM);
    }

    /** The backward pass's all-reduce with a zero contribution. */
    void sitOutBackward()
    {
        gradientSums.assign(0);
        collective.allReduce(gradientSums, ReduceOp.SUM);
    }

    /** Global mean of the last training forward pass. */
    @Override
    public INDArray getMeanCache(final DataType dataType)
    {
        return mean.castTo(dataType);
    }

    /** Global (biased) variance of the last training forward pass. */
    @Override
    public INDArray getVarCache(final DataType dataType)
    {
        return variance.castTo(dataType);
    }

    @Override
    public boolean checkSupported(final double eps, final boolean fixedGammaBeta)
    {
        return true;
    }

    @Override
    public boolean checkSupported()
    {
        return true;
    }

    @Override
    public Map<String, Long> helperMemoryUse()
    {
        return Map.of("syncBatchNormBuffers", (6L * channels + 1) * Float.BYTES);
    }

    private INDArray channels(final INDArray buffer)
    {
        return buffer.get(NDArrayIndex.interval(0, channels));
    }

    /**
     * The channel axis of the layer's 4D input: DL4J reshapes dense input [n, C] to [n, C, 1, 1] for the forward
     * pass whatever the format (and to [n, 1, 1, C] for an NHWC layer's backward pass), so the axis is the one of
     * size C where the format puts the channels, else axis 1.
     */
    private int channelAxis(final INDArray x, final CNN2DFormat format)
    {
        if (x.rank() != 4)
        {
            // DL4J 1.0.0-M2 hands a rank-3 input on in its backward pass only; its forward pass reshapes it to
            // [1, examples, channels, time] and takes the examples for the channels (one process fails alike)
            throw new TrainingInputException(x.rank() == 3 ? SyncBatchNorm.rankThreeRefusal(layer) :
                "BatchNormalization layer " + layer + " on rank-" + x.rank() + " input: DL4J's " +
                "BatchNormalization trains on 2D (dense) and 4D (image) activations only");
        }
        return format == CNN2DFormat.NHWC && x.size(3) == channels ? 3 : 1;
    }

    private static int[] otherAxes(final int axis)
    {
        return axis == 1 ? new int[] {0, 2, 3} : new int[] {0, 1, 2};
    }
}
