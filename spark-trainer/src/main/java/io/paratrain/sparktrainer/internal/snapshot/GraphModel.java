package io.paratrain.sparktrainer.internal.snapshot;

import io.paratrain.sparktrainer.exceptions.TrainingInputException;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.Updater;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.GraphVertex;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;

import java.util.ArrayList;
import java.util.List;

/**
 * A {@link ComputationGraph} with one input and one output as a {@link NetworkModel}. Its parameters, gradients and
 * updater blocks are laid out in the graph's topological order (DL4J's {@code ComputationGraphUpdater} orders them
 * so), which is also the order of its forward pass.
 */
record GraphModel(ComputationGraph network) implements NetworkModel
{
    GraphModel
    {
        if (network.getNumInputArrays() != 1 || network.getNumOutputArrays() != 1)
        {
            throw new TrainingInputException("the ComputationGraph has " + network.getNumInputArrays() +
                " inputs and " + network.getNumOutputArrays() + " outputs; data-parallel training feeds it DataSets, " +
                "which need exactly one of each (MultiDataSets are not supported)");
        }
    }

    @Override
    public ModelKind kind()
    {
        return ModelKind.GRAPH;
    }

    @Override
    public INDArray params()
    {
        return network.params();
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

    @Override
    public Gradient gradient()
    {
        return network.gradient();
    }

    @Override
    public double score()
    {
        return network.score();
    }

    /** As {@code ComputationGraph.fit(DataSet)} sets inputs, labels and masks before its solver's step. */
    @Override
    public void computeGradientAndScore(final DataSet examples)
    {
        flattenedGradients();
        network.setInputs(examples.getFeatures());
        network.setLabels(examples.getLabels());
        network.setLayerMaskArrays(one(examples.getFeaturesMaskArray()), one(examples.getLabelsMaskArray()));
        try
        {
            network.computeGradientAndScore();
        }
        finally
        {
            network.clearLayerMaskArrays();
        }
    }

    private static INDArray[] one(final INDArray mask)
    {
        return mask == null ? null : new INDArray[] {mask};
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
    public boolean isMiniBatch()
    {
        return network.conf().isMiniBatch();
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
    public void applyConstraints(final int iteration, final int epoch)
    {
        network.applyConstraints(iteration, epoch);
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
    public INDArray output(final DataSet examples)
    {
        return network.output(false, new INDArray[] {examples.getFeatures()}, one(examples.getFeaturesMaskArray()),
            one(examples.getLabelsMaskArray()))[0];
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
