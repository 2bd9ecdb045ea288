package io.paratrain.sparktrainer.internal;

import io.paratrain.gradientsharing.Collective;
import io.paratrain.gradientsharing.ReduceOp;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;

/**
 * One synchronous step of one replica: the mirrored strategy.
 * <p>
 * DL4J's gradients are sums over the minibatch and its updater divides by the batch size it is given. So each
 * replica computes the gradient sum of its k_i examples, the ring all-reduce SUMs them into the gradient sum of
 * the whole global batch (r = sum k_i), and every replica runs the same updater step with batch size r on the same
 * numbers: exactly what one process does with batch r. (Averaging instead of summing drifts by ~1e-2.)
 */
public final class ReplicaStep
{
    private final MultiLayerNetwork network;
    private final Collective collective;
    private final float[] lossSum = new float[1];
    private final LayerWorkspaceMgr workspaces = LayerWorkspaceMgr.noWorkspaces();
    private double communicationMs;

    public ReplicaStep(final MultiLayerNetwork network, final Collective collective)
    {
        this.network = network;
        this.collective = collective;
    }

    /**
     * Trains on this replica's part of a global step.
     *
     * @param local           this replica's examples, or null when it has none in this step.
     * @param globalExamples  examples in the step over all replicas.
     * @return the step's mean loss over all its examples.
     */
    public double run(final DataSet local, final int globalExamples)
    {
        final INDArray gradient = network.getFlattenedGradients();
        if (local != null)
        {
            network.setInput(local.getFeatures());
            network.setLabels(local.getLabels());
            network.computeGradientAndScore();
            lossSum[0] = (float)(network.score() * local.numExamples());
        }
        else
        {
            gradient.assign(0); // takes part with a zero contribution (only in a final step smaller than N)
            lossSum[0] = 0;
        }
        final long startNs = System.nanoTime();
        collective.allReduce(gradient, ReduceOp.SUM);
        collective.allReduce(lossSum, ReduceOp.SUM);
        communicationMs = (System.nanoTime() - startNs) / 1e6;

        final int iteration = network.getIterationCount();
        final int epoch = network.getEpochCount();
        network.getUpdater().update(network, network.gradient(), iteration, epoch, globalExamples, workspaces);
        network.params().subi(gradient);
        network.setIterationCount(iteration + 1);
        network.applyConstraints(iteration, epoch);
        network.clearLayersStates();
        return lossSum[0] / globalExamples;
    }

    /** Time the last step spent in the all-reduce. */
    public double lastCommunicationMs()
    {
        return communicationMs;
    }
}
