package io.paratrain.sparktrainer.internal.snapshot;

import io.paratrain.sparktrainer.exceptions.TrainingInputException;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.api.Updater;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.MultiDataSet;

import java.util.List;

/**
 * What data-parallel training needs of a DL4J model, for both of DL4J's model types ({@link MultiLayerNetwork},
 * {@link ComputationGraph}), so that the replica's step, the sharded update,
 * synchronized batch normalization, snapshots and checkpoints are written once. Both types keep their parameters,
 * gradients and updater state in flat views laid out in the same order as their updater's blocks. What both offer
 * through DL4J's common {@link Model} interface is delegated here once; the two records hold the calls that DL4J
 * gives each type under its own signature.
 */
public sealed interface NetworkModel permits MultiLayerModel, GraphModel
{
    static NetworkModel of(final MultiLayerNetwork network)
    {
        return new MultiLayerModel(network);
    }

    static NetworkModel of(final ComputationGraph graph)
    {
        return new GraphModel(graph);
    }

    /**
     * The DataSet of a MultiDataSet with one input and one output (references, no copy), for the models that train
     * on DataSets (a MultiLayerNetwork, a model split's shards).
     *
     * @throws TrainingInputException when {@code batch} has other counts of inputs or outputs.
     */
    static DataSet dataSet(final MultiDataSet batch)
    {
        if (batch.numFeatureArrays() != 1 || batch.numLabelsArrays() != 1)
        {
            throw new TrainingInputException("a MultiLayerNetwork trains on one input and one output; the examples " +
                "have " + batch.numFeatureArrays() + " inputs and " + batch.numLabelsArrays() + " outputs");
        }
        return new DataSet(batch.getFeatures(0), batch.getLabels(0),
            batch.getFeaturesMaskArrays() == null ? null : batch.getFeaturesMaskArray(0),
            batch.getLabelsMaskArrays() == null ? null : batch.getLabelsMaskArray(0));
    }

    ModelKind kind();

    /** The DL4J object itself. */
    Model network();

    /** The flat parameter vector (a view that training updates in place); null before {@code init()}. */
    default INDArray params()
    {
        return network().params();
    }

    /** The flat gradient view that {@link #computeGradientAndScore} fills. */
    INDArray flattenedGradients();

    /** The per-parameter gradient views of the last {@link #computeGradientAndScore}. */
    default Gradient gradient()
    {
        return network().gradient();
    }

    /** Mean loss of the last {@link #computeGradientAndScore} over its examples (with regularization). */
    default double score()
    {
        return network().score();
    }

    /**
     * Forward and backward pass on {@code examples} with their feature and label masks (as DL4J's own
     * {@code fit(DataSet)} or {@code fit(MultiDataSet)} sets them), leaving the gradient SUM over the examples in
     * {@link #flattenedGradients}. A MultiLayerNetwork takes one input and one output.
     */
    void computeGradientAndScore(MultiDataSet examples);

    /** Inputs the model takes (1 for a MultiLayerNetwork). */
    int inputs();

    /** Outputs the model has (1 for a MultiLayerNetwork). */
    int outputs();

    /** DL4J's updater, created when absent and {@code create}; null when absent and not {@code create}. */
    Updater updater(boolean create);

    /** DL4J's updater step on {@link #gradient}: divides by {@code batchSize}, regularizes, applies the updater. */
    void update(int iteration, int epoch, int batchSize, LayerWorkspaceMgr workspaces);

    /** Whether the updater divides gradients by the minibatch size (DL4J's {@code miniBatch}, default true). */
    default boolean isMiniBatch()
    {
        return network().conf().isMiniBatch();
    }

    int iterationCount();

    void setIterationCount(int iterationCount);

    int epochCount();

    void setEpochCount(int epochCount);

    /** At the end of an epoch, as DL4J's iterator fits do. */
    void incrementEpochCount();

    default void applyConstraints(final int iteration, final int epoch)
    {
        network().applyConstraints(iteration, epoch);
    }

    /** Drops the activations and inputs the last pass kept in the layers. */
    void clearLayersStates();

    /** The layers in the order of the forward pass (a graph's topological order); backward is the reverse. */
    List<Layer> layersInForwardOrder();

    /** Inference output of every output for {@code examples}, with their masks (as DL4J's {@code evaluate}). */
    INDArray[] output(MultiDataSet examples);

    /** Width of the (first) output layer: the number of classes for a classifier. */
    int outputSize();

    /** The seed of the model's configuration. */
    long seed();

    /** A copy of the configuration as it is now. */
    NetworkConfiguration configuration();

    /** The configuration as DL4J JSON. */
    String configurationJson();
}
