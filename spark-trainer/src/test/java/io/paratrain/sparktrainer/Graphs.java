package io.paratrain.sparktrainer;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/** Small ComputationGraphs for tests, fed {@link Networks#examples}. */
final class Graphs
{
    static final String BATCH_NORM = "bn";

    private Graphs()
    {
    }

    /**
     * A residual block: in -> dense (no bias: normalization cancels it) -> BatchNormalization (tanh) -> hidden dense
     * (relu, optionally with dropout) -> skip = bn + hidden (ElementWiseVertex Add) -> softmax output.
     */
    static ComputationGraph residual(final IUpdater updater, final long seed, final double dropOutRetain)
    {
        final DenseLayer.Builder hidden = new DenseLayer.Builder().nIn(16).nOut(16).activation(Activation.RELU);
        if (dropOutRetain < 1)
        {
            hidden.dropOut(dropOutRetain);
        }
        final ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder()
            .seed(seed)
            .dataType(DataType.FLOAT)
            .updater(updater)
            .weightInit(WeightInit.XAVIER)
            .graphBuilder()
            .addInputs("in")
            .addLayer("dense", new DenseLayer.Builder().nIn(Networks.FEATURES).nOut(16)
                .activation(Activation.IDENTITY).hasBias(false).build(), "in")
            .addLayer(BATCH_NORM, new BatchNormalization.Builder().nOut(16).activation(Activation.TANH).build(),
                "dense")
            .addLayer("hidden", hidden.build(), BATCH_NORM)
            .addVertex("skip", new ElementWiseVertex(ElementWiseVertex.Op.Add), BATCH_NORM, "hidden")
            .addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(16)
                .nOut(Networks.CLASSES).activation(Activation.SOFTMAX).build(), "skip")
            .setOutputs("out")
            .build();
        final ComputationGraph graph = new ComputationGraph(conf);
        graph.init();
        return graph;
    }
}
