package io.paratrain.sparktrainer.internal.convolution;

import org.bytedeco.javacpp.IntPointer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.shape.Shape;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Arrays;
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
 * <p>
 * A training step asks for the same matrix three times (the forward pass, the backward pass's recomputed forward,
 * the backward pass), evaluation once per call. The matrix is a function of the input's values and the geometry
 * alone, so a call whose input holds bitwise the values of the last built one, in the same geometry, gets that
 * matrix back without building it again: one build per layer and step. The test compares values, not the array's
 * identity or address: DL4J's workspaces hand the next minibatch the very memory the last one had, and the input
 * is copied out anyway (the loop reads a Java array), so the comparison costs one vectorized pass over the input
 * beside the copy, against the loop and the matrix's copy (11-18x the input's size for LeNet's 5x5 kernels) that it
 * saves.
 */
final class Im2ColRows
{
    private final Map<Long, INDArray> matrices = new HashMap<>();
    /** The raw bits of the input the last built matrix holds, in its first {@code builtLength} elements. */
    private int[] image = new int[0];
    private int builtLength;
    /** The input of the current call, compared with {@code image} (then the two swap when the call builds). */
    private int[] candidate = new int[0];
    private int[] rows = new int[0];
    /** The last built matrix and its geometry; null before the first build. */
    private INDArray built;
    private ConvGeometry builtGeometry;
    private long builds;

    /**
     * The im2col matrix of {@code input} (NCHW floats), valid until the next call: the last built one when the input
     * holds bitwise the same values in the same geometry, else built now.
     *
     * @param geometry the convolution's sizes.
     */
    INDArray rows(final INDArray input, final ConvGeometry geometry)
    {
        final INDArray image4d = Shape.hasDefaultStridesForShape(input) && input.ordering() == 'c' ? input :
            input.dup('c');
        final int imageLength = (int)image4d.length();
        if (candidate.length < imageLength)
        {
            candidate = new int[imageLength];
        }
        new IntPointer(image4d.data().addressPointer()).position(image4d.offset()).get(candidate, 0, imageLength);
        if (built != null && geometry.equals(builtGeometry) && imageLength == builtLength &&
            Arrays.equals(candidate, 0, imageLength, image, 0, imageLength))
        {
            return built;
        }
        final int[] previous = image;
        image = candidate;
        candidate = previous;
        builtLength = imageLength;
        final long rowCount = geometry.rowCount();
        final int length = (int)(rowCount * geometry.rowLength());
        if (rows.length < length)
        {
            rows = new int[length];
        }
        fill(geometry);
        final INDArray matrix = matrices.computeIfAbsent(rowCount, n -> detached(n, geometry.rowLength()));
        new IntPointer(matrix.data().addressPointer()).position(matrix.offset()).put(rows, 0, length);
        built = matrix;
        builtGeometry = geometry;
        builds++;
        return matrix;
    }

    /** Matrices built (not handed back from an earlier call) since this was created. */
    long builds()
    {
        return builds;
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
                                    rows[at++] = 0;
                                }
                                continue;
                            }
                            final int line = plane + y * width;
                            for (int kx = 0; kx < g.kW(); kx++)
                            {
                                final int x = x0 + kx * g.dilationW();
                                rows[at++] = x >= 0 && x < width ? image[line + x] : 0;
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
