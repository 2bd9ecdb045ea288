package io.paratrain.modelsplit;

import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.Nesterovs;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.nd4j.linalg.schedule.ExponentialSchedule;
import org.nd4j.linalg.schedule.ScheduleType;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Split training of a 12-16-10-4 MLP equals {@code MultiLayerNetwork.fit} on the same minibatches from the same
 * initial parameters: parameters and updater state within 1e-5 relative (L2 norm of the difference over the norm of
 * the reference), float32, after 25 steps of minibatches of 5 to 8 examples.
 */
@Timeout(120)
class SplitEquivalenceTest
{
    private static final int STEPS = 25;
    private static final double TOLERANCE = 1e-5;

    static Stream<Arguments> cases()
    {
        final List<Arguments> cases = new ArrayList<>();
        for (final String updater : List.of("sgd", "adam", "nesterovs", "adam-schedule-l2", "sgd-weightdecay"))
        {
            for (final String head : List.of("softmax-mcxent", "identity-mse", "softmax-mcxent-masked",
                "identity-mse-masked"))
            {
                for (final SplitConfig split : List.of(SplitConfig.of(1, 0, 1, 2), SplitConfig.of(2, 0, 1, 2),
                    SplitConfig.of(3, 0, 1, 2), SplitConfig.of(3, 1)))
                {
                    cases.add(Arguments.of(updater, head, split));
                }
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("cases")
    void splitTrainingMatchesDl4jFit(final String updater, final String head, final SplitConfig split)
    {
        final MultiLayerNetwork reference = new MultiLayerNetwork(configuration(updater, head));
        reference.init();
        final INDArray initial = reference.params().dup();
        final InProcessSplitTrainer trainer = new InProcessSplitTrainer(reference, split);

        final List<DataSet> minibatches = minibatches(head);
        for (final DataSet minibatch : minibatches)
        {
            reference.fit(minibatch);
            trainer.fit(minibatch);
        }
        final MultiLayerNetwork trained = trainer.toNetwork();

        final double paramDifference = relativeDifference(trained.params(), reference.params());
        final INDArray referenceState = reference.getUpdater().getStateViewArray();
        final double stateDifference = referenceState == null
            ? 0 : relativeDifference(trained.getUpdater().getStateViewArray(), referenceState);
        System.out.printf("equivalence %s %s shards=%d split=%s: params %.3e, updater state %.3e%n", updater, head,
            split.shards(), split.splitLayers(), paramDifference, stateDifference);

        assertTrue(relativeDifference(reference.params(), initial) > 1e-2, "training barely moved the parameters");
        assertEquals(STEPS, trained.getIterationCount());
        assertEquals(reference.getIterationCount(), trained.getIterationCount());
        assertTrue(paramDifference < TOLERANCE, "parameters differ by " + paramDifference + " relative");
        assertTrue(stateDifference < TOLERANCE, "updater state differs by " + stateDifference + " relative");
        assertTrue(relativeDifference(trained.output(minibatches.get(0).getFeatures()),
            reference.output(minibatches.get(0).getFeatures())) < TOLERANCE, "outputs of the assembled network differ");
    }

    static MultiLayerConfiguration configuration(final String updater, final String head)
    {
        final NeuralNetConfiguration.Builder builder = new NeuralNetConfiguration.Builder().seed(12345)
            .dataType(DataType.FLOAT).weightInit(WeightInit.XAVIER).biasInit(0.1).updater(updater(updater));
        if (updater.endsWith("l2"))
        {
            builder.l2(1e-3);
        }
        if (updater.endsWith("weightdecay"))
        {
            builder.weightDecay(1e-2);
        }
        final boolean softmax = head.startsWith("softmax");
        return builder.list()
            .layer(new DenseLayer.Builder().nIn(12).nOut(16).activation(Activation.RELU).build())
            .layer(new DenseLayer.Builder().nIn(16).nOut(10).activation(Activation.TANH).build())
            .layer(new OutputLayer.Builder(softmax ? LossFunctions.LossFunction.MCXENT : LossFunctions.LossFunction.MSE)
                .nIn(10).nOut(4).activation(softmax ? Activation.SOFTMAX : Activation.IDENTITY).build())
            .build();
    }

    private static IUpdater updater(final String name)
    {
        return switch (name)
        {
            case "sgd", "sgd-weightdecay" -> new Sgd(0.1);
            case "adam" -> new Adam(0.01);
            case "nesterovs" -> new Nesterovs(0.05, 0.9);
            case "adam-schedule-l2" -> new Adam(new ExponentialSchedule(ScheduleType.ITERATION, 0.02, 0.95));
            default -> throw new IllegalArgumentException(name);
        };
    }

    /**
     * STEPS minibatches of 5..8 examples (uneven, so the division by the minibatch size is exercised); a "-masked"
     * head adds a labels mask: per example ([batch, 1], every third row masked) for softmax, per output
     * ([batch, 4], a varying pattern) for MSE.
     */
    static List<DataSet> minibatches(final String head)
    {
        Nd4j.getRandom().setSeed(7);
        final List<DataSet> minibatches = new ArrayList<>();
        for (int s = 0; s < STEPS; s++)
        {
            final int batch = 5 + s % 4;
            final INDArray features = Nd4j.randn(DataType.FLOAT, batch, 12);
            final INDArray labels;
            if (head.startsWith("softmax"))
            {
                labels = Nd4j.zeros(DataType.FLOAT, batch, 4);
                for (int r = 0; r < batch; r++)
                {
                    labels.putScalar(r, (r * 7 + s) % 4, 1.0);
                }
            }
            else
            {
                labels = Nd4j.randn(DataType.FLOAT, batch, 4);
            }
            minibatches.add(new DataSet(features, labels, null, head.endsWith("-masked") ? labelsMask(head, batch, s)
                : null));
        }
        return minibatches;
    }

    private static INDArray labelsMask(final String head, final int batch, final int step)
    {
        final INDArray mask = Nd4j.ones(DataType.FLOAT, batch, head.startsWith("softmax") ? 1 : 4);
        for (int r = 0; r < batch; r++)
        {
            for (int c = 0; c < mask.columns(); c++)
            {
                if ((r + c + step) % 3 == 0)
                {
                    mask.putScalar(r, c, 0.0);
                }
            }
        }
        return mask;
    }

    static double relativeDifference(final INDArray actual, final INDArray expected)
    {
        return actual.castTo(DataType.DOUBLE).sub(expected.castTo(DataType.DOUBLE)).norm2Number().doubleValue()
            / expected.castTo(DataType.DOUBLE).norm2Number().doubleValue();
    }
}
