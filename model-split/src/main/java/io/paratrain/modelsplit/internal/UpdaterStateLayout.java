package io.paratrain.modelsplit.internal;

import io.paratrain.modelsplit.exceptions.UnsupportedModelException;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.Updater;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.updater.BaseMultiLayerUpdater;
import org.deeplearning4j.nn.updater.UpdaterBlock;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.util.ArrayList;
import java.util.List;

/**
 * Where one parameter's updater state lies in a DL4J network's updater state array.
 * <p>
 * DL4J groups consecutive parameters with equal updater configuration into a block of n_block parameters; the
 * block's state is k components of n_block values one after the other (Adam: m then v). A parameter at offset o
 * in the block, of length n, owns values [c n_block + o, c n_block + o + n) of component c.
 */
final class UpdaterStateLayout
{
    private UpdaterStateLayout()
    {
    }

    /**
     * Views [1, n] of the k state components of parameter {@code param} of layer {@code layerIndex}; empty when
     * the network has no updater yet or the updater keeps no state.
     */
    static List<INDArray> components(final MultiLayerNetwork network, final int layerIndex, final String param)
    {
        final Updater updater = network.getUpdater(false);
        if (updater == null)
        {
            return List.of();
        }
        if (!(updater instanceof BaseMultiLayerUpdater<?> multi))
        {
            throw new UnsupportedModelException("expected DL4J's MultiLayerUpdater, found " + updater.getClass().getName());
        }
        final Layer layer = network.getLayer(layerIndex);
        for (final UpdaterBlock block : multi.getUpdaterBlocks())
        {
            for (final UpdaterBlock.ParamState state : block.getLayersAndVariablesInBlock())
            {
                if (state.getLayer() == layer && state.getParamName().equals(param))
                {
                    return slices(block, state);
                }
            }
        }
        throw new UnsupportedModelException("layer " + layerIndex + " parameter " + param + " is in no updater block");
    }

    private static List<INDArray> slices(final UpdaterBlock block, final UpdaterBlock.ParamState state)
    {
        final INDArray view = block.getUpdaterView();
        if (view == null)
        {
            return List.of();
        }
        final long blockLength = block.getParamOffsetEnd() - block.getParamOffsetStart();
        final long offset = state.getParamOffsetStart() - block.getParamOffsetStart();
        final long length = state.getParamOffsetEnd() - state.getParamOffsetStart();
        final long components = view.length() / blockLength;
        final List<INDArray> result = new ArrayList<>((int)components);
        for (long c = 0; c < components; c++)
        {
            final long from = c * blockLength + offset;
            result.add(view.get(NDArrayIndex.interval(0, 0, true), NDArrayIndex.interval(from, from + length)));
        }
        return result;
    }
}
