package io.paratrain.sparktrainer.internal.dataparallel;

import io.paratrain.gradientsharing.Collective;
import io.paratrain.gradientsharing.ReduceOp;
import io.paratrain.sparktrainer.internal.batchnorm.SyncBatchNorm;
import io.paratrain.sparktrainer.internal.snapshot.NetworkModel;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.ndarray.INDArray;
import io.paratrain.sparktrainer.internal.data.Examples;
import org.nd4j.linalg.dataset.api.MultiDataSet;

/**
 * One synchronous step of one replica: the mirrored strategy.
 * <p>
 * DL4J's gradients are sums over the minibatch and its updater divides by the batch size it is given. So each
 * replica computes the gradient sum of its k_i examples, the ring all-reduce SUMs them into the gradient sum of
 * the whole global batch (r = sum k_i), and every replica runs the same updater step with batch size r on the same
 * numbers: exactly what one process does with batch r. (Averaging instead of summing drifts by ~1e-2.) With masked
 * time series too: DL4J's loss and gradient are sums over the unmasked steps divided by the number of sequences
 * (the minibatch size), not by the number of unmasked steps, so r stays the divisor.
 * <p>
 * With a {@link ShardedUpdate} the all-reduce is split in its two halves and each replica runs the updater only
 * on the parameters it owns in between: reduce-scatter the gradient sums, update the own segment, all-gather
 * the parameters.
 * <p>
 * BatchNormalization layers normalize with the statistics of the global batch ({@link SyncBatchNorm}, installed
 * in this replica's network), so that they too train as one process at batch r; on time series the replicas then
 * pad their minibatches to the step's longest sequence ({@link StepPadding}), as the one process pads.
 * <p>
 * The same for both of DL4J's model types ({@link NetworkModel}): a ComputationGraph's {@code fit(MultiDataSet)}
 * runs the same solver step (gradient sum, updater with the batch size, subtract, iteration + 1, constraints).
 */
public final class ReplicaStep
{
    private final NetworkModel network;
    private final Collective collective;
    private final float[] lossSum = new float[1];
    private final LayerWorkspaceMgr workspaces = LayerWorkspaceMgr.noWorkspaces();
    private final ShardedUpdate sharded;
    /** Null when the network has no BatchNormalization (nor other parameter outside the updater's division). */
    private final SyncBatchNorm batchNorm;
    /** Null unless the network has synchronized BatchNormalization layers. */
    private final StepPadding padding;
    private double communicationMs;

    /**
     * @param sharded the replica's share of a sharded optimizer step, or null to run DL4J's whole update on every
     *                replica.
     */
    public ReplicaStep(final NetworkModel network, final Collective collective, final ShardedUpdate sharded)
    {
        this.network = network;
        this.collective = collective;
        this.sharded = sharded;
        this.batchNorm = SyncBatchNorm.installIfNeeded(network, collective);
        this.padding = batchNorm != null && batchNorm.synchronizesLayers() ? new StepPadding(collective) : null;
    }

    /**
     * Trains on this replica's part of a global step.
     *
     * @param slice           this replica's examples, or null when it has none in this step.
     * @param globalExamples  examples in the step over all replicas.
     * @return the step's mean loss over all its examples.
     */
    public double run(final MultiDataSet slice, final int globalExamples)
    {
        final long paddingStartNs = System.nanoTime();
        final MultiDataSet local = padding == null ? slice : padding.apply(slice);
        final long paddingNs = System.nanoTime() - paddingStartNs;
        final INDArray gradient = network.flattenedGradients();
        if (local != null)
        {
            computeGradientAndScore(local);
            lossSum[0] = (float)(network.score() * Examples.count(local));
            if (batchNorm != null)
            {
                batchNorm.prepareContribution(gradient);
            }
        }
        else
        {
            if (batchNorm != null)
            {
                batchNorm.sitOut();
            }
            gradient.assign(0); // takes part with a zero contribution (only in a final step smaller than N)
            lossSum[0] = 0;
        }
        final int iteration = network.iterationCount();
        final int epoch = network.epochCount();
        if (sharded != null)
        {
            final long startNs = System.nanoTime();
            collective.reduceScatter(gradient, ReduceOp.SUM);
            collective.allReduce(lossSum, ReduceOp.SUM);
            final long reducedNs = System.nanoTime();
            sharded.apply(globalExamples, iteration, epoch);
            final long updatedNs = System.nanoTime();
            collective.allGatherSegments(network.params());
            communicationMs = (paddingNs + reducedNs - startNs + System.nanoTime() - updatedNs) / 1e6;
        }
        else
        {
            final long startNs = System.nanoTime();
            collective.allReduce(gradient, ReduceOp.SUM);
            collective.allReduce(lossSum, ReduceOp.SUM);
            communicationMs = (paddingNs + System.nanoTime() - startNs) / 1e6;
            network.update(iteration, epoch, globalExamples, workspaces);
            network.params().subi(gradient);
        }
        network.setIterationCount(iteration + 1);
        network.applyConstraints(iteration, epoch);
        network.clearLayersStates();
        return lossSum[0] / globalExamples;
    }

    private void computeGradientAndScore(final MultiDataSet local)
    {
        if (batchNorm == null)
        {
            network.computeGradientAndScore(local);
            return;
        }
        try
        {
            network.computeGradientAndScore(local);
        }
        catch (final RuntimeException e)
        {
            throw SyncBatchNorm.collectiveFailureIn(e);
        }
    }

    /**
     * Completes the network's updater state on every replica after sharded updates (a collective call: every
     * replica at the same point); nothing to do without sharding.
     */
    public void syncUpdaterState()
    {
        if (sharded != null)
        {
            sharded.syncStateToNetwork();
        }
    }

    /** Time the last step spent in the all-reduce. */
    public double lastCommunicationMs()
    {
        return communicationMs;
    }
}
