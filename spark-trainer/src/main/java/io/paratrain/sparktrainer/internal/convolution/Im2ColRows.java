package io.paratrain.sparktrainer.internal.convolution;

import org.bytedeco.javacpp.FloatPointer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.shape.Shape;
import org.nd4j.linalg.factory.Nd4j;

import java.util.HashMap;
import java.util.Map;

/**
 * im2col written directly in the row layout DL4J's {@code ConvolutionLayer} multiplies: a c-order
 * [miniBatch * outH * outW, inDepth * kH * kW] matrix whose row (b, oy, ox) holds, for c, ky, kx in that order,
 * {@code input[b, c, oy * sH - pH + ky * dH, ox * sW - pW + kx * dW]}, 0 outside the image.
 * <p>
 * DL4J 1.0.0-M2 gets the same matrix from libnd4j's im2col op writing through a permuted view of it, which takes
 * the op's generic strided path: measured 12 ms (first LeNet convolution, batch 64) and 25 ms (second) of CPU on
 * one thread, where this loop and the two bulk copies take a few ms. The values are copies of the input's, so the
 * GEMM that follows sees the same numbers in the same layout: the layer's results are bitwise DL4J's.
 * <p>
 * One per layer and replica (one thread): the matrix and the Java arrays are kept and reused while the minibatch
 * size stays the same (the last step of an epoch may be smaller: a second set), outside any workspace.
 */
final class Im2ColRows
{
    private final Map<Long, INDArray> matrices = new HashMap<>();
    private float[] image = new float[0];
    private float[] rows = new float[0];

    /**
     * The im2col matrix of {@code input} (NCHW floats), valid until the next call.
     *
     * @param geometry the convolution's sizes.
     */
    INDArray rows(final INDArray input, final ConvGeometry geometry)
    {
        final INDArray image4d = Shape.hasDefaultStridesForShape(input) && input.ordering() == 'c' ? input :
            input.dup('c');
        final int imageLength = (int)image4d.length();
        if (image.length < imageLength)
        {
            image = new float[imageLength];
        }
        new FloatPointer(image4d.data().addressPointer()).position(image4d.offset()).get(image, 0, imageLength);
        final long rowCount = geometry.rowCount();
        final int length = (int)(rowCount * geometry.rowLength());
        if (rows.length < length)
        {
            rows = new float[length];
        }
        fill(geometry);
        final INDArray matrix = matrices.computeIfAbsent(rowCount, n -> detached(n, geometry.rowLength()));
        new FloatPointer(matrix.data().addressPointer()).position(matrix.offset()).put(rows, 0, length);
        return matrix;
    }

    private void fill(final ConvGeometry g)
    {
        final int channels = g.inDepth();
        final int height = g.inH();
        final int width = g.inW();
        int at = 0;
        for (int b = 0; b < g.miniBatch(); b++)
        {
            for (int oy = 0; oy < g.outH(); oy++)
            {
                for (int ox = 0; ox < g.outW(); ox++)
                {
                    final int x0 = ox * g.strideW() - g.padW();
                    for (int c = 0; c < channels; c++)
                    {
                        final int plane = (b * channels + c) * height * width;
                        for (int ky = 0; ky < g.kH(); ky++)
                        {
                            final int y = oy * g.strideH() - g.padH() + ky * g.dilationH();
                            if (y < 0 || y >= height)
                            {
                                for (int kx = 0; kx < g.kW(); kx++)
                                {
                                    rows[at++] = 0f;
                                }
                                continue;
                            }
                            final int line = plane + y * width;
                            for (int kx = 0; kx < g.kW(); kx++)
                            {
                                final int x = x0 + kx * g.dilationW();
                                rows[at++] = x >= 0 && x < width ? image[line + x] : 0f;
                            }
                        }
                    }
                }
            }
        }
    }

    private static INDArray detached(final long rowCount, final long rowLength)
    {
        try (MemoryWorkspace outside = Nd4j.getMemoryManager().scopeOutOfWorkspaces())
        {
            return Nd4j.createUninitialized(DataType.FLOAT, new long[] {rowCount, rowLength}, 'c');
        }
    }
}
