package io.paratrain.sparktrainer.internal.snapshot;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.Updater;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.MultiDataSet;

import java.util.List;

/** A {@link MultiLayerNetwork} as a {@link NetworkModel}. */
record MultiLayerModel(MultiLayerNetwork network) implements NetworkModel
{
    @Override
    public ModelKind kind()
    {
        return ModelKind.MULTI_LAYER;
    }

    @Override
    public INDArray flattenedGradients()
    {
        return network.getFlattenedGradients();
    }

    @Override
    public void computeGradientAndScore(final MultiDataSet batch)
    {
        final DataSet examples = NetworkModel.dataSet(batch);
        network.setInput(examples.getFeatures());
        network.setLabels(examples.getLabels());
        // as MultiLayerNetwork.fit(DataSet) does: the masks of variable-length time series (null when none)
        network.setLayerMaskArrays(examples.getFeaturesMaskArray(), examples.getLabelsMaskArray());
        try
        {
            network.computeGradientAndScore();
        }
        finally
        {
            network.clearLayerMaskArrays();
        }
    }

    @Override
    public Updater updater(final boolean create)
    {
        return network.getUpdater(create);
    }

    @Override
    public void update(final int iteration, final int epoch, final int batchSize, final LayerWorkspaceMgr workspaces)
    {
        network.getUpdater().update(network, network.gradient(), iteration, epoch, batchSize, workspaces);
    }

    @Override
    public int iterationCount()
    {
        return network.getIterationCount();
    }

    @Override
    public void setIterationCount(final int iterationCount)
    {
        network.setIterationCount(iterationCount);
    }

    @Override
    public int epochCount()
    {
        return network.getEpochCount();
    }

    @Override
    public void setEpochCount(final int epochCount)
    {
        network.setEpochCount(epochCount);
    }

    @Override
    public void incrementEpochCount()
    {
        network.incrementEpochCount();
    }

    @Override
    public void clearLayersStates()
    {
        network.clearLayersStates();
    }

    @Override
    public List<Layer> layersInForwardOrder()
    {
        return List.of(network.getLayers());
    }

    @Override
    public INDArray[] output(final MultiDataSet batch)
    {
        final DataSet examples = NetworkModel.dataSet(batch);
        return new INDArray[] {network.output(examples.getFeatures(), false, examples.getFeaturesMaskArray(),
            examples.getLabelsMaskArray())};
    }

    @Override
    public int inputs()
    {
        return 1;
    }

    @Override
    public int outputs()
    {
        return 1;
    }

    @Override
    public int outputSize()
    {
        return network.layerSize(network.getnLayers() - 1);
    }

    @Override
    public long seed()
    {
        return network.getLayerWiseConfigurations().getConf(0).getSeed();
    }

    @Override
    public NetworkConfiguration configuration()
    {
        return NetworkConfiguration.of(network.getLayerWiseConfigurations());
    }

    @Override
    public String configurationJson()
    {
        return network.getLayerWiseConfigurations().toJson();
    }
}
