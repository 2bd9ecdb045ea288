package io.paratrain.sparktrainer.internal.batchnorm;

import io.paratrain.gradientsharing.Collective;
import io.paratrain.gradientsharing.exceptions.CollectiveException;
import io.paratrain.sparktrainer.exceptions.TrainerException;
import io.paratrain.sparktrainer.exceptions.TrainingInputException;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.Trainable;
import org.deeplearning4j.nn.api.layers.RecurrentLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.impl.LayerVertex;
import org.deeplearning4j.nn.layers.convolution.Convolution1DLayer;
import org.deeplearning4j.nn.layers.convolution.subsampling.Subsampling1DLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.layers.normalization.BatchNormalization;
import io.paratrain.sparktrainer.internal.snapshot.NetworkModel;
import org.deeplearning4j.nn.graph.vertex.GraphVertex;
import org.deeplearning4j.nn.updater.BaseMultiLayerUpdater;
import org.deeplearning4j.nn.updater.UpdaterBlock;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Makes a replica's BatchNormalization layers train as one process does at the global batch size.
 * <p>
 * DL4J keeps a BatchNormalization layer's running mean and variance (or log10 std) in the parameter vector and
 * moves them through the gradient path: its "gradient" for them is (1 - decay) (running - batch statistic), which
 * the updater does not divide by the batch size ({@code updaterDivideByMinibatch} is false) and subtracts with a
 * NoOp updater. Summed over N replicas that moves the running statistics N times too far, and the forward pass
 * normalizes with the replica's own slice. So for each BatchNormalization layer of the replica's network this
 * <ul>
 *   <li>installs a {@link SyncBatchNormHelper} in the layer's helper slot: the forward and backward passes use the
 *       statistics of the global batch (per-channel sums all-reduced over the replicas), so the running-statistics
 *       "gradient" is the same on every replica;</li>
 *   <li>lets rank 0 alone contribute that "gradient" to the step's sum all-reduce (the others contribute zero: a
 *       sum with zeros is exact), so the running statistics are updated once, from the global statistics.</li>
 * </ul>
 * Any other parameter whose updater does not divide by the minibatch (a BatchNormalization inside a wrapper
 * layer, which keeps DL4J's local statistics) is averaged over the replicas instead of summed: each contributes
 * its value / N. Only the replica's own network changes; the user's network and the returned model are untouched.
 */
public final class SyncBatchNorm
{
    private static final Logger LOG = LoggerFactory.getLogger(SyncBatchNorm.class);

    /** A flat gradient range and what this replica does to its contribution there before the sum all-reduce. */
    private record Contribution(long from, long to, float factor)
    {
    }

    private final Collective collective;
    /** In forward (layer) order. */
    private final List<SyncBatchNormHelper> helpers;
    private final List<Contribution> contributions;

    private SyncBatchNorm(final Collective collective, final List<SyncBatchNormHelper> helpers,
        final List<Contribution> contributions)
    {
        this.collective = collective;
        this.helpers = helpers;
        this.contributions = contributions;
    }

    /**
     * Installs synchronized batch normalization in {@code network} (a replica's own copy, initialised), or
     * returns null when the network needs nothing (no parameter outside the updater's division, or one replica).
     */
    public static SyncBatchNorm installIfNeeded(final NetworkModel network, final Collective collective)
    {
        if (collective.worldSize() == 1)
        {
            return null;
        }
        final List<SyncBatchNormHelper> helpers = new ArrayList<>();
        final List<Layer> synced = new ArrayList<>();
        // in forward order: a replica sitting a step out makes the layers' all-reduces in the order the others do
        for (final Layer layer : network.layersInForwardOrder())
        {
            if (layer instanceof BatchNormalization batchNorm)
            {
                if (followsTimeSeries(network, batchNorm))
                {
                    throw new TrainingInputException(rankThreeRefusal(name(batchNorm)));
                }
                if (network.params().dataType() != DataType.FLOAT)
                {
                    throw new TrainerException("synchronized batch normalization needs FLOAT parameters, layer " +
                        layer.getIndex() + " has " + network.params().dataType());
                }
                helpers.add(install(batchNorm, collective));
                synced.add(layer);
            }
        }
        final List<Contribution> contributions = contributions(network, synced, collective);
        if (!helpers.isEmpty() && collective.rank() == 0)
        {
            LOG.info("Synchronized batch normalization in layers {}: statistics of the global batch, running " +
                "statistics updated once", synced.stream().map(Layer::getIndex).toList());
        }
        return helpers.isEmpty() && contributions.isEmpty() ? null :
            new SyncBatchNorm(collective, Collections.unmodifiableList(helpers), contributions);
    }

    /** Whether a BatchNormalization layer normalizes with the global batch's statistics (else only contributions). */
    public boolean synchronizesLayers()
    {
        return !helpers.isEmpty();
    }

    /**
     * Before the step's gradient all-reduce: rank 0 keeps the synchronized layers' running-statistics "gradient",
     * the other ranks zero theirs; parameters of other layers that the updater does not divide by the minibatch are
     * scaled by 1/N (their sum becomes the mean over the replicas).
     */
    public void prepareContribution(final INDArray flatGradient)
    {
        for (final Contribution contribution : contributions)
        {
            final INDArray range = flatGradient.get(NDArrayIndex.interval(0, 0, true),
                NDArrayIndex.interval(contribution.from(), contribution.to()));
            if (contribution.factor() == 0)
            {
                range.assign(0);
            }
            else
            {
                range.muli(contribution.factor());
            }
        }
    }

    /**
     * For a replica with no example in a step: the all-reduces the synchronized layers make in a forward and
     * backward pass (all forward passes in layer order, then the backward passes in reverse), with zeros.
     */
    public void sitOut()
    {
        if (collective.rank() == 0)
        {
            // the plan gives rank 0 an example in every step; it alone contributes the running statistics
            throw new TrainerException("rank 0 has no example in a step; synchronized batch normalization needs one");
        }
        for (final SyncBatchNormHelper helper : helpers)
        {
            helper.sitOutForward();
        }
        for (int i = helpers.size() - 1; i >= 0; i--)
        {
            helpers.get(i).sitOutBackward();
        }
    }

    /**
     * The collective's own failure (a peer failed, a timeout) or the helper's refusal when {@code e} wraps one, else
     * {@code e}: DL4J wraps any error of a layer helper in a RuntimeException that blames cuDNN, which would hide what
     * was waited for or refused.
     */
    public static RuntimeException collectiveFailureIn(final RuntimeException e)
    {
        for (Throwable cause = e; cause != null; cause = cause.getCause())
        {
            if (cause instanceof CollectiveException collective)
            {
                return collective;
            }
            if (cause instanceof TrainerException refusal)
            {
                return refusal;
            }
        }
        return e;
    }

    /**
     * What refuses a BatchNormalization layer on rank-3 input: DL4J 1.0.0-M2's layer reshapes it to [1, examples,
     * channels, time] and takes the examples for the channels in its forward pass, and its backward pass refuses
     * rank 3, so one process cannot train it either.
     */
    static String rankThreeRefusal(final String layer)
    {
        return "BatchNormalization layer " + layer + " on rank-3 (time series) input: DL4J's " +
            "BatchNormalization trains on 2D (dense) and 4D (image) activations only, one process too; put an " +
            "RnnToFeedForwardPreProcessor before the layer and a FeedForwardToRnnPreProcessor after it (each channel " +
            "normalized over examples x time steps)";
    }

    /**
     * Whether {@code layer} takes a recurrent or 1D-convolution layer's [examples, channels, time] output as it is,
     * without a preprocessor: known from the network's structure, before any step (rank-3 input from elsewhere, say
     * the features themselves, fails in the helper at the first step).
     */
    private static boolean followsTimeSeries(final NetworkModel network, final BatchNormalization layer)
    {
        if (network.network() instanceof MultiLayerNetwork multiLayer)
        {
            final int index = layer.getIndex();
            return index > 0 && multiLayer.getLayerWiseConfigurations().getInputPreProcess(index) == null &&
                isTimeSeries(multiLayer.getLayer(index - 1));
        }
        final ComputationGraph graph = (ComputationGraph)network.network();
        final GraphVertex vertex = graph.getVertex(layer.conf().getLayer().getLayerName());
        if (!(vertex instanceof LayerVertex layerVertex) || layerVertex.getLayerPreProcessor() != null ||
            vertex.getInputVertices() == null || vertex.getInputVertices().length != 1)
        {
            return false;
        }
        final GraphVertex input = graph.getVertices()[vertex.getInputVertices()[0].getVertexIndex()];
        return input.hasLayer() && isTimeSeries(input.getLayer());
    }

    /** The layer's index and name, as DL4J's messages give them. */
    static String name(final BatchNormalization layer)
    {
        return layer.getIndex() + " (" + layer.conf().getLayer().getLayerName() + ")";
    }

    private static boolean isTimeSeries(final Layer layer)
    {
        return layer instanceof RecurrentLayer || layer instanceof Convolution1DLayer ||
            layer instanceof Subsampling1DLayer;
    }

    private static SyncBatchNormHelper install(final BatchNormalization layer, final Collective collective)
    {
        final org.deeplearning4j.nn.conf.layers.BatchNormalization conf = layer.layerConf();
        // a failing helper must fail the step: DL4J would otherwise fall back to local statistics silently
        conf.setCudnnAllowFallback(false);
        final SyncBatchNormHelper helper = new SyncBatchNormHelper(collective, name(layer), (int)conf.getNOut(),
            conf.getGamma(), conf.getBeta());
        try
        {
            final Field slot = BatchNormalization.class.getDeclaredField("helper");
            slot.setAccessible(true);
            slot.set(layer, helper);
        }
        catch (final ReflectiveOperationException | RuntimeException e)
        {
            throw new TrainerException("cannot install synchronized batch normalization in layer " +
                layer.getIndex() + " (DL4J's BatchNormalization has no helper field 'helper')", e);
        }
        return helper;
    }

    /** The flat gradient ranges whose contribution changes, from the updater's view of the parameters. */
    private static List<Contribution> contributions(final NetworkModel network, final List<Layer> synced,
        final Collective collective)
    {
        final List<Contribution> contributions = new ArrayList<>();
        final float syncedFactor = collective.rank() == 0 ? 1f : 0f;
        final float averagedFactor = 1f / collective.worldSize();
        for (final UpdaterBlock block : ((BaseMultiLayerUpdater<?>)network.updater(true)).getUpdaterBlocks())
        {
            for (final UpdaterBlock.ParamState param : block.getLayersAndVariablesInBlock())
            {
                final Trainable layer = param.getLayer();
                if (!layer.updaterDivideByMinibatch(param.getParamName()))
                {
                    // a graph's updater holds its layers' vertices, a MultiLayerNetwork's the layers themselves
                    final Trainable own = layer instanceof GraphVertex vertex && vertex.hasLayer() ? vertex.getLayer() :
                        layer;
                    final boolean isSynced = synced.stream().anyMatch(s -> s == own);
                    if (!isSynced && collective.rank() == 0)
                    {
                        LOG.warn("Layer {} parameter {}: not divided by the minibatch and not synchronized; its " +
                            "gradient is averaged over the replicas", layer.getConfig().getLayerName(),
                            param.getParamName());
                    }
                    contributions.add(new Contribution(param.getParamOffsetStart(), param.getParamOffsetEnd(),
                        isSynced ? syncedFactor : averagedFactor));
                }
            }
        }
        return List.copyOf(contributions);
    }
}
