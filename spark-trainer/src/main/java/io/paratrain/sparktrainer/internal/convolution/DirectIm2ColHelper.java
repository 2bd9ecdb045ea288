package io.paratrain.sparktrainer.internal.convolution;

import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer.AlgoMode;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer.BwdDataAlgo;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer.BwdFilterAlgo;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer.FwdAlgo;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.layers.convolution.ConvolutionHelper;
import org.deeplearning4j.nn.params.ConvolutionParamInitializer;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.shape.Shape;
import org.nd4j.linalg.convolution.Convolution;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Map;

/**
 * A DL4J {@code ConvolutionLayer}'s forward and backward pass with the im2col matrix built by {@link Im2ColRows}
 * instead of libnd4j's im2col op; every other operation is the one DL4J 1.0.0-M2's built-in path runs, with the
 * same arguments in the same order, so the layer's output, gradients and epsilon are bitwise DL4J's:
 * <pre>
 *   forward:  z = im2col(x) [rows, inDepth kH kW] x W' ['f', kW kH inDepth x outDepth] (+ bias row), viewed as
 *             [miniBatch, outDepth, outH, outW]
 *   backward: dW = (im2col(x)' delta2d')' into the weight gradient view, epsilon = col2im(W' delta2d),
 *             db = row sums of delta2d, where delta2d = delta as [outDepth, miniBatch outH outW]
 * </pre>
 * The built-in path builds im2col twice per step (the forward pass, and again in the backward pass's recomputed
 * forward, whose matrix its backward pass reuses); DL4J calls this helper three times per step (forward, the backward
 * pass's forward, backward), and {@link Im2ColRows} builds the matrix in the first of them only, handing it back while
 * the input holds the same values. Both take the activation's derivative outside the helper. Installed only where it
 * applies ({@link DirectIm2Col}: NCHW floats, Truncate or Strict mode, no weight noise); a call it cannot serve returns
 * null and DL4J runs its own path.
 */
final class DirectIm2ColHelper implements ConvolutionHelper
{
    private final boolean hasBias;
    private final Im2ColRows im2col = new Im2ColRows();
    /** Passes this helper computed (DL4J falls back to its own path, with a warning, when a helper throws). */
    private long passes;

    DirectIm2ColHelper(final boolean hasBias)
    {
        this.hasBias = hasBias;
    }

    @Override
    public INDArray preOutput(final INDArray input, final INDArray weights, final INDArray bias, final int[] kernel,
        final int[] strides, final int[] pad, final AlgoMode mode, final FwdAlgo fwdAlgo,
        final ConvolutionMode convolutionMode, final int[] dilation, final CNN2DFormat format,
        final LayerWorkspaceMgr workspaceMgr)
    {
        if (!serves(input, weights, convolutionMode, format))
        {
            return null;
        }
        final ConvGeometry g = ConvGeometry.of(input, weights, strides, pad, dilation);
        final INDArray rows = im2col.rows(input, g);
        final INDArray w2d = weights.permute(3, 2, 1, 0).reshape('f', g.rowLength(), g.outDepth());
        final INDArray z = workspaceMgr.createUninitialized(ArrayType.ACTIVATIONS, weights.dataType(),
            new long[] {g.rowCount(), g.outDepth()}, 'f');
        rows.mmuli(w2d, z);
        if (hasBias)
        {
            z.addiRowVector(bias);
        }
        passes++;
        // rows run over (example, outH, outW) with outW fastest: as 'f' [outW, outH, example, channel]
        return Shape.newShapeNoCopy(z, new long[] {g.outW(), g.outH(), g.miniBatch(), g.outDepth()}, true)
            .permute(2, 3, 1, 0);
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(final INDArray input, final INDArray weights,
        final INDArray bias, final INDArray delta, final int[] kernel, final int[] strides, final int[] pad,
        final INDArray biasGradView, final INDArray weightGradView, final IActivation afn, final AlgoMode mode,
        final BwdFilterAlgo bwdFilterAlgo, final BwdDataAlgo bwdDataAlgo, final ConvolutionMode convolutionMode,
        final int[] dilation, final CNN2DFormat format, final LayerWorkspaceMgr workspaceMgr)
    {
        if (!serves(input, weights, convolutionMode, format) || delta.dataType() != DataType.FLOAT)
        {
            return null;
        }
        final ConvGeometry g = ConvGeometry.of(input, weights, strides, pad, dilation);
        final INDArray weightGrad2df = Shape.newShapeNoCopy(weightGradView,
            new long[] {g.outDepth(), g.rowLength()}, false).transpose();
        final INDArray delta2d = delta.permute(1, 0, 2, 3).reshape('c', g.outDepth(), g.rowCount());
        final INDArray rows = im2col.rows(input, g);
        Nd4j.gemm(rows, delta2d, weightGrad2df, true, true, 1.0, 0.0);

        final INDArray w2d = weights.permute(3, 2, 1, 0).reshape('f', g.rowLength(), g.outDepth());
        final INDArray epsilonCols = w2d.mmul(delta2d);
        // [kW, kH, inDepth, outW, outH, example] in 'f' order, permuted to col2im's [example, c, kH, kW, outH, outW]
        final INDArray epsilon6d = Shape.newShapeNoCopy(epsilonCols,
            new long[] {g.kW(), g.kH(), g.inDepth(), g.outW(), g.outH(), g.miniBatch()}, true)
            .permute(5, 2, 1, 0, 4, 3);
        final INDArray epsilonStorage = workspaceMgr.createUninitialized(ArrayType.ACTIVATION_GRAD,
            epsilon6d.dataType(), new long[] {g.inDepth(), g.miniBatch(), g.inH(), g.inW()}, 'c');
        final INDArray epsilon = epsilonStorage.permute(1, 0, 2, 3);
        Convolution.col2im(epsilon6d, epsilon, g.strideH(), g.strideW(), g.padH(), g.padW(), g.inH(), g.inW(),
            g.dilationH(), g.dilationW());

        final Gradient gradient = new DefaultGradient();
        if (hasBias)
        {
            delta2d.sum(biasGradView, 1);
            gradient.setGradientFor(ConvolutionParamInitializer.BIAS_KEY, biasGradView);
        }
        gradient.setGradientFor(ConvolutionParamInitializer.WEIGHT_KEY, weightGradView, 'c');
        passes++;
        return new Pair<>(gradient, epsilon);
    }

    /** Forward and backward passes computed here since the helper was installed. */
    long passes()
    {
        return passes;
    }

    /** im2col matrices built since the helper was installed (a pass on an unchanged input reuses the last one). */
    long im2colBuilds()
    {
        return im2col.builds();
    }

    /** The activation stays DL4J's own (null: the layer applies it). */
    @Override
    public INDArray activate(final INDArray z, final IActivation afn, final boolean training)
    {
        return null;
    }

    @Override
    public boolean checkSupported()
    {
        return true;
    }

    @Override
    public Map<String, Long> helperMemoryUse()
    {
        return Map.of();
    }

    private static boolean serves(final INDArray input, final INDArray weights, final ConvolutionMode mode,
        final CNN2DFormat format)
    {
        return format == CNN2DFormat.NCHW && (mode == ConvolutionMode.Truncate || mode == ConvolutionMode.Strict) &&
            input.dataType() == DataType.FLOAT && weights.dataType() == DataType.FLOAT && input.rank() == 4;
    }
}
