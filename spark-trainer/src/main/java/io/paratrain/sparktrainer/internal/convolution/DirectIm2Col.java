package io.paratrain.sparktrainer.internal.convolution;

import io.paratrain.sparktrainer.exceptions.TrainerException;
import io.paratrain.sparktrainer.internal.snapshot.NetworkModel;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.layers.convolution.ConvolutionLayer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

import java.lang.reflect.Field;

/**
 * Installs a {@link DirectIm2ColHelper} in a replica's plain 2D convolution layers: the layers then compute
 * bitwise what DL4J computes, with the im2col matrix built in a few ms instead of libnd4j's strided im2col op
 * (which took over half of a LeNet step's CPU on one thread, see {@link Im2ColRows}).
 * <p>
 * Only where the helper reproduces DL4J's path exactly: on the CPU backend (the helper reads the input's host
 * memory), a layer of class {@code ConvolutionLayer} itself (its subclasses, 1D, depthwise, separable and
 * transposed convolutions, compute differently), NCHW, float, Truncate or Strict mode (Same mode lets the op
 * recompute the padding), no weight noise (the built-in path clears its noisy weights), and no helper already in
 * the layer's slot (none on CPU in DL4J 1.0.0-M2: its oneDNN helper looks for a class that the M2 backend does not
 * have, so neither DL4J nor this project's replicas use oneDNN for convolutions).
 */
public final class DirectIm2Col
{
    private DirectIm2Col()
    {
    }

    /** Installs the helper in every layer of {@code network} it applies to; returns how many. */
    public static int installWherePossible(final NetworkModel network)
    {
        if (!"CPU".equalsIgnoreCase(Nd4j.getExecutioner().getEnvironmentInformation().getProperty("backend")))
        {
            return 0;
        }
        int installed = 0;
        for (final Layer layer : network.layersInForwardOrder())
        {
            if (layer.getClass() == ConvolutionLayer.class && applies((ConvolutionLayer)layer))
            {
                install((ConvolutionLayer)layer);
                installed++;
            }
        }
        return installed;
    }

    private static boolean applies(final ConvolutionLayer layer)
    {
        final org.deeplearning4j.nn.conf.layers.ConvolutionLayer conf =
            (org.deeplearning4j.nn.conf.layers.ConvolutionLayer)layer.conf().getLayer();
        return layer.getHelper() == null && conf.getCnn2dDataFormat() == CNN2DFormat.NCHW &&
            (conf.getConvolutionMode() == ConvolutionMode.Truncate ||
                conf.getConvolutionMode() == ConvolutionMode.Strict) &&
            conf.getWeightNoise() == null && layer.getParam("W").dataType() == DataType.FLOAT;
    }

    private static void install(final ConvolutionLayer layer)
    {
        final boolean hasBias = layer.hasBias();
        try
        {
            final Field slot = ConvolutionLayer.class.getDeclaredField("helper");
            slot.setAccessible(true);
            slot.set(layer, new DirectIm2ColHelper(hasBias));
        }
        catch (final ReflectiveOperationException e)
        {
            throw new TrainerException("cannot install the direct im2col in convolution layer " + layer.getIndex() +
                " (DL4J's ConvolutionLayer has no helper field 'helper')", e);
        }
    }
}
