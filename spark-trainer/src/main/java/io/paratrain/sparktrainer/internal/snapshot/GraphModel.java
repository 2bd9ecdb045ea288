package io.paratrain.sparktrainer.internal.snapshot;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.Updater;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.GraphVertex;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;

import java.util.ArrayList;
import java.util.List;

/**
 * A {@link ComputationGraph} (any number of inputs and outputs) as a {@link NetworkModel}. Its parameters,
 * gradients and updater blocks are laid out in the graph's topological order (DL4J's {@code ComputationGraphUpdater}
 * orders them so), which is also the order of its forward pass.
 */
record GraphModel(ComputationGraph network) implements NetworkModel
{
    @Override
    public ModelKind kind()
    {
        return ModelKind.GRAPH;
    }

    @Override
    public INDArray flattenedGradients()
    {
        if (network.getFlattenedGradients() == null)
        {
            network.initGradientsView(); // a graph allocates it at its first fit, a MultiLayerNetwork at init()
        }
        return network.getFlattenedGradients();
    }

    /**
     * As {@code ComputationGraph.fit(MultiDataSet)} (and {@code fit(DataSet)}, the case of one input and one output)
     * sets inputs, labels and masks before its solver's step.
     */
    @Override
    public void computeGradientAndScore(final MultiDataSet examples)
    {
        flattenedGradients();
        network.setInputs(examples.getFeatures());
        network.setLabels(examples.getLabels());
        network.setLayerMaskArrays(examples.getFeaturesMaskArrays(), examples.getLabelsMaskArrays());
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
        network.getUpdater().update(network.gradient(), iteration, epoch, batchSize, workspaces);
    }

    @Override
    public int iterationCount()
    {
        return network.getIterationCount();
    }

    @Override
    public void setIterationCount(final int iterationCount)
    {
        network.getConfiguration().setIterationCount(iterationCount);
    }

    @Override
    public int epochCount()
    {
        return network.getEpochCount();
    }

    @Override
    public void setEpochCount(final int epochCount)
    {
        network.getConfiguration().setEpochCount(epochCount);
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
        final GraphVertex[] vertices = network.getVertices();
        final List<Layer> layers = new ArrayList<>();
        for (final int index : network.topologicalSortOrder())
        {
            if (vertices[index].hasLayer())
            {
                layers.add(vertices[index].getLayer());
            }
        }
        return layers;
    }

    @Override
    public INDArray[] output(final MultiDataSet examples)
    {
        return network.output(false, examples.getFeatures(), examples.getFeaturesMaskArrays(),
            examples.getLabelsMaskArrays());
    }

    @Override
    public int inputs()
    {
        return network.getNumInputArrays();
    }

    @Override
    public int outputs()
    {
        return network.getNumOutputArrays();
    }

    @Override
    public int outputSize()
    {
        return (int)network.layerSize(network.getConfiguration().getNetworkOutputs().get(0));
    }

    @Override
    public long seed()
    {
        return network.getConfiguration().getDefaultConfiguration().getSeed();
    }

    @Override
    public NetworkConfiguration configuration()
    {
        return NetworkConfiguration.of(network.getConfiguration());
    }

    @Override
    public String configurationJson()
    {
        return network.getConfiguration().toJson();
    }
}
