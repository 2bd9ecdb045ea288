package io.paratrain.sparktrainer.internal.convolution;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The sizes of one 2D convolution over an NCHW input with [outDepth, inDepth, kH, kW] weights, in DL4J's
 * Truncate/Strict arithmetic (the layer has already validated them): out = (in + 2 pad - dilated kernel) / stride
 * + 1, rounded down.
 */
record ConvGeometry(int miniBatch, int inDepth, int inH, int inW, int outDepth, int kH, int kW, int strideH,
    int strideW, int padH, int padW, int dilationH, int dilationW, int outH, int outW)
{
    static ConvGeometry of(final INDArray input, final INDArray weights, final int[] strides, final int[] pad,
        final int[] dilation)
    {
        final int inH = (int)input.size(2);
        final int inW = (int)input.size(3);
        final int kH = (int)weights.size(2);
        final int kW = (int)weights.size(3);
        final int outH = (inH + 2 * pad[0] - (dilation[0] * (kH - 1) + 1)) / strides[0] + 1;
        final int outW = (inW + 2 * pad[1] - (dilation[1] * (kW - 1) + 1)) / strides[1] + 1;
        return new ConvGeometry((int)input.size(0), (int)input.size(1), inH, inW, (int)weights.size(0), kH, kW,
            strides[0], strides[1], pad[0], pad[1], dilation[0], dilation[1], outH, outW);
    }

    /** Rows of the im2col matrix: one per output position of every example. */
    long rowCount()
    {
        return (long)miniBatch * outH * outW;
    }

    /** Columns of the im2col matrix: one per weight of an output channel. */
    long rowLength()
    {
        return (long)inDepth * kH * kW;
    }
}
