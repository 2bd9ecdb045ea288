package io.paratrain.modelsplit;

import io.paratrain.modelsplit.exceptions.SplitConfigException;
import io.paratrain.modelsplit.exceptions.SplitInputException;
import io.paratrain.modelsplit.exceptions.UnsupportedModelException;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class SplitErrorsTest
{
    private static MultiLayerNetwork network(final MultiLayerConfiguration conf)
    {
        final MultiLayerNetwork network = new MultiLayerNetwork(conf);
        network.init();
        return network;
    }

    private static MultiLayerNetwork mlp()
    {
        return network(SplitEquivalenceTest.configuration("sgd", "softmax-mcxent"));
    }

    @Test
    void moreShardsThanColumnsIsRefusedNamingTheLayer()
    {
        final SplitConfigException e = assertThrows(SplitConfigException.class,
            () -> new InProcessSplitTrainer(mlp(), SplitConfig.of(5, 2)));
        assertEquals("layer 2 has 4 output columns, fewer than the 5 shards asked for: every shard needs at least "
            + "one column", e.getMessage());
    }

    @Test
    void nonDenseLayerChosenForSplittingIsRefused()
    {
        final MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().dataType(DataType.FLOAT)
            .updater(new Sgd(0.1)).list()
            .layer(new DenseLayer.Builder().nIn(4).nOut(6).activation(Activation.IDENTITY).build())
            .layer(new ActivationLayer.Builder().activation(Activation.RELU).build())
            .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MSE).nIn(6).nOut(2).activation(Activation.IDENTITY)
                .build())
            .build();
        final SplitConfigException e = assertThrows(SplitConfigException.class,
            () -> new InProcessSplitTrainer(network(conf), SplitConfig.of(2, 1)));
        assertEquals("layer 1 is a ActivationLayer: only DenseLayer and OutputLayer can be split by columns",
            e.getMessage());

        final UnsupportedModelException whole = assertThrows(UnsupportedModelException.class,
            () -> new InProcessSplitTrainer(network(conf), SplitConfig.of(2, 0)));
        assertEquals("layer 1 is a ActivationLayer: expected DenseLayer; only MLPs are supported", whole.getMessage());
    }

    @Test
    void softmaxDenseLayerCannotBeSplit()
    {
        final MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().dataType(DataType.FLOAT)
            .updater(new Sgd(0.1)).list()
            .layer(new DenseLayer.Builder().nIn(4).nOut(6).activation(Activation.SOFTMAX).build())
            .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MSE).nIn(6).nOut(2).activation(Activation.IDENTITY)
                .build())
            .build();
        assertThrows(SplitConfigException.class, () -> new InProcessSplitTrainer(network(conf), SplitConfig.of(2, 0)));
    }

    @Test
    void layerIndexOutOfRangeAndBadShardCountAreRefused()
    {
        assertEquals("split layer index 3 is out of range: the network has 3 layers (0..2)",
            assertThrows(SplitConfigException.class, () -> new InProcessSplitTrainer(mlp(), SplitConfig.of(2, 3)))
                .getMessage());
        assertEquals("shards must be >= 1, found 0",
            assertThrows(SplitConfigException.class, () -> SplitConfig.of(0, 1)).getMessage());
        assertThrows(SplitConfigException.class, () -> new SplitConfig(2, Set.of(-1)));
    }

    @Test
    void splitConfigPrintsItsLayersInAscendingOrderInEveryJvm()
    {
        // SplitRank compares toString between rank JVMs: it must not depend on a per-JVM hash salt.
        assertEquals("SplitConfig[shards=3, splitLayers=[0, 2, 5, 7, 11], paired=false]",
            new SplitConfig(3, Set.of(11, 5, 0, 7, 2)).toString());
    }

    @Test
    void dropoutIsRefused()
    {
        final MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().dataType(DataType.FLOAT)
            .updater(new Sgd(0.1)).list()
            .layer(new DenseLayer.Builder().nIn(4).nOut(6).dropOut(0.5).build())
            .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MSE).nIn(6).nOut(2).activation(Activation.IDENTITY)
                .build())
            .build();
        assertThrows(UnsupportedModelException.class, () -> new InProcessSplitTrainer(network(conf), SplitConfig.of(2, 0)));
    }

    @Test
    void wrongMinibatchShapeIsRefused()
    {
        final InProcessSplitTrainer trainer = new InProcessSplitTrainer(mlp(), SplitConfig.of(2, 0, 1));
        final DataSet wrongLabels = new DataSet(Nd4j.zeros(DataType.FLOAT, 3, 12), Nd4j.zeros(DataType.FLOAT, 3, 5));
        assertEquals("expected features [batch, nIn] and labels [batch, 4] with batch > 0, found [3, 12] and [3, 5]",
            assertThrows(SplitInputException.class, () -> trainer.fit(wrongLabels)).getMessage());
        final DataSet wrongFeatures = new DataSet(Nd4j.zeros(DataType.FLOAT, 3, 11), Nd4j.zeros(DataType.FLOAT, 3, 4));
        assertEquals("layer 0 shard 0/2: expected an input of shape [batch, 12], found [3, 11]",
            assertThrows(SplitInputException.class, () -> trainer.fit(wrongFeatures)).getMessage());
    }

    @Test
    void featuresMaskAndMisshapenLabelsMaskAreRefused()
    {
        final InProcessSplitTrainer trainer = new InProcessSplitTrainer(mlp(), SplitConfig.of(2, 0, 1));
        final DataSet featuresMasked = new DataSet(Nd4j.zeros(DataType.FLOAT, 3, 12), Nd4j.zeros(DataType.FLOAT, 3, 4),
            Nd4j.ones(DataType.FLOAT, 3, 1), null);
        assertEquals("minibatch has a features mask [3, 1]: model split supports a labels mask but not a features mask;"
            + " drop the masked examples, or train with data-parallel training, which takes both",
            assertThrows(SplitInputException.class, () -> trainer.fit(featuresMasked)).getMessage());
        final DataSet badLabelsMask = new DataSet(Nd4j.zeros(DataType.FLOAT, 3, 12), Nd4j.zeros(DataType.FLOAT, 3, 4),
            null, Nd4j.ones(DataType.FLOAT, 3, 2));
        assertEquals("expected a labels mask [3, 1] or [3, 4], found [3, 2]",
            assertThrows(SplitInputException.class, () -> trainer.fit(badLabelsMask)).getMessage());
    }
}
