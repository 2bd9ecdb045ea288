package io.paratrain.sparktrainer;

import io.paratrain.sparktrainer.exceptions.TrainingInputException;
import io.paratrain.sparktrainer.internal.fit.BarrierFit;
import org.apache.logging.log4j.Level;
import org.apache.spark.api.java.JavaRDD;
import org.deeplearning4j.datasets.iterator.utilty.ListDataSetIterator;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Data that is not flat rows: 4-d NCHW images for a CNN, and masked time series of different lengths for an LSTM.
 * N replicas x batch b end with the parameters of single-process {@code MultiLayerNetwork.fit} on the same examples
 * merged by {@code DataSet.merge} into minibatches of N x b (relative difference at most 1e-5, as
 * {@link EquivalenceTest}), and the data's own partitioning (one per replica: the ring exchange where the examples
 * share one shape) gives the same raw float bits as another partitioning (the Spark shuffle).
 */
@Timeout(300)
class ShapedDataEquivalenceTest
{
    private static final int BATCH_PER_WORKER = 4;
    private static final int EPOCHS = 2;
    private static final String RING = "examples exchanged over the ring from the data's own partitions";
    private static final String SHUFFLE = "examples routed through a Spark shuffle";
    @RegisterExtension
    static final LocalSpark SPARK = new LocalSpark(3);

    @ParameterizedTest(name = "workers={0}")
    @ValueSource(ints = {2, 3})
    void lenetStyleCnnOnNchwImages(final int workers) throws Exception
    {
        final int globalBatch = workers * BATCH_PER_WORKER;
        final List<DataSet> examples = images(5 * globalBatch + 3, 31);
        assertBothPathsMatchSingleProcess(cnn(), examples, sources(examples, 5), workers, "CNN", true);
    }

    /**
     * Source DataSets of lengths 4 to 7 with feature and label masks; the last global step has fewer than N x b
     * examples, of lengths 9 and 2 that occur nowhere else. A step combines sequences of different lengths: they
     * are padded to the longest with zero masks (by DL4J's merge in both the reference and the replicas).
     */
    @ParameterizedTest(name = "workers={0}")
    @ValueSource(ints = {2, 3})
    void lstmOnMaskedSequencesOfDifferentLengths(final int workers) throws Exception
    {
        final int globalBatch = workers * BATCH_PER_WORKER;
        final Random random = new Random(41 + workers);
        final List<DataSet> sources = new ArrayList<>();
        final List<DataSet> examples = new ArrayList<>();
        final int[] lengths = {5, 7, 4, 6};
        int count = 0;
        for (int group = 0; count < 6 * globalBatch; group++)
        {
            final int size = 1 + random.nextInt(5);
            sources.add(sequences(size, lengths[group % lengths.length], random, examples));
            count += size;
        }
        sources.add(sequences(globalBatch / 2 - 1, 9, random, examples));
        sources.add(sequences(1, 2, random, examples));
        assertTrue(examples.size() % globalBatch != 0);
        final MultiLayerNetwork trained = assertBothPathsMatchSingleProcess(lstm(), examples, sources, workers,
            "LSTM", false);
        // evaluation on the executors counts the labelled time steps only, as DL4J's own evaluate does
        final Evaluation expected = trained.evaluate(new ListDataSetIterator<>(sources));
        final Evaluation evaluated = new DataParallelTrainer(SPARK.sc(), TrainerConfig.builder()
            .epochs(1).workers(workers)
            .batchSizePerWorker(BATCH_PER_WORKER).build()).evaluate(trained, SPARK.sc().parallelize(sources, 3));
        final long labelled = sources.stream().mapToLong(ds -> ds.getLabelsMaskArray().sumNumber().longValue()).sum();
        assertEquals(labelled, expected.getNumRowCounter());
        assertEquals(expected.getConfusionMatrix(), evaluated.getConfusionMatrix());
        assertEquals(expected.stats(), evaluated.stats());
    }

    /** Masked sequences all of one length: the one-partition-per-replica data takes the ring exchange. */
    @ParameterizedTest(name = "workers={0}")
    @ValueSource(ints = {2, 3})
    void lstmOnMaskedSequencesOfOneLength(final int workers) throws Exception
    {
        final Random random = new Random(53 + workers);
        final List<DataSet> sources = new ArrayList<>();
        final List<DataSet> examples = new ArrayList<>();
        while (examples.size() < 5 * workers * BATCH_PER_WORKER + 1)
        {
            sources.add(sequences(1 + random.nextInt(5), 6, random, examples));
        }
        assertBothPathsMatchSingleProcess(lstm(), examples, sources, workers, "LSTM of one length",
            true);
    }

    /**
     * Images of two sizes, or a per-output mask on some flat DataSets only, cannot go into one minibatch: the fit
     * fails before training, naming the partition, the DataSet and both shapes (before, the counting job failed with
     * "Rank is [4]; columns() call is not valid").
     */
    @Test
    void dataSetsThatCannotShareAMinibatchFailBeforeTrainingWithTheirShapes()
    {
        final MultiLayerNetwork network = cnn();
        final INDArray before = network.params().dup();
        final List<DataSet> images = new ArrayList<>(images(6, 3));
        images.add(new DataSet(Nd4j.zeros(DataType.FLOAT, 2, 1, 14, 14), Nd4j.zeros(DataType.FLOAT, 2, 4)));
        final DataParallelTrainer trainer = new DataParallelTrainer(SPARK.sc(), TrainerConfig.builder()
            .epochs(1).workers(2)
            .batchSizePerWorker(BATCH_PER_WORKER).build());
        final TrainingInputException sizes = assertThrows(TrainingInputException.class,
            () -> trainer.fit(network, SPARK.sc().parallelize(images, 2)));
        assertEquals("partition 1, DataSet 3: cannot combine its examples into a minibatch with the partition's " +
            "DataSet 0: features dimension 2 is 28 and 14; DataSet 0 has features [n, 1, 28, 28], labels [n, 4], no " +
            "features mask, no labels mask, DataSet 3 has features [n, 1, 14, 14], labels [n, 4], no features mask, " +
            "no labels mask", sizes.getMessage());
        assertArrayEquals(rawBits(before), rawBits(network.params()), "nothing trained");

        final List<DataSet> rows = List.of(new DataSet(Nd4j.zeros(DataType.FLOAT, 3, 5), Nd4j.zeros(DataType.FLOAT,
            3, 2)), new DataSet(Nd4j.zeros(DataType.FLOAT, 3, 5), Nd4j.zeros(DataType.FLOAT, 3, 2), null,
            Nd4j.ones(DataType.FLOAT, 3, 2)));
        final TrainingInputException masks = assertThrows(TrainingInputException.class,
            () -> trainer.fit(Networks.mlp(new Adam(0.01), 1), SPARK.sc().parallelize(rows, 2)));
        assertEquals("partition 1, DataSet 0: cannot combine its examples into a minibatch with partition 0's: one " +
            "has a labels mask and the other none (only time series, rank 3, can be padded with masks); partition 0 " +
            "has features [n, 5], labels [n, 2], no features mask, no labels mask, partition 1 has features [n, 5], " +
            "labels [n, 2], no features mask, labels mask [n, 2]", masks.getMessage());
    }

    /**
     * Returns the model trained from the data's own partitions, which take the ring exchange when {@code ring}
     * (the trainer's log says which path it took), else the shuffle as any other partitioning does.
     */
    private static MultiLayerNetwork assertBothPathsMatchSingleProcess(final MultiLayerNetwork initial,
        final List<DataSet> examples, final List<DataSet> sources, final int workers, final String what,
        final boolean ring) throws Exception
    {
        final MultiLayerNetwork reference = initial.clone();
        final int globalBatch = workers * BATCH_PER_WORKER;
        for (int epoch = 0; epoch < EPOCHS; epoch++)
        {
            for (int start = 0; start < examples.size(); start += globalBatch)
            {
                reference.fit(DataSet.merge(examples.subList(start, Math.min(examples.size(), start + globalBatch))));
            }
        }
        final TrainerConfig config = TrainerConfig.builder().workers(workers).batchSizePerWorker(BATCH_PER_WORKER)
            .epochs(EPOCHS).checksumEverySteps(3).build();
        final MultiLayerNetwork ownPartitions = initial.clone();
        final JavaRDD<DataSet> own = SPARK.sc().parallelize(sources, workers);
        final List<String> ownLog = LogLines.during(BarrierFit.class, Level.INFO, () -> assertEquals(examples.size(),
            new DataParallelTrainer(SPARK.sc(), config).fit(ownPartitions, own).examplesPerEpoch()));
        final MultiLayerNetwork shuffled = initial.clone();
        final List<String> shuffledLog = LogLines.during(BarrierFit.class, Level.INFO,
            () -> new DataParallelTrainer(SPARK.sc(), config).fit(shuffled,
                SPARK.sc().parallelize(sources, workers + 1)));
        assertTrue(ownLog.stream().anyMatch(line -> line.endsWith(ring ? RING : SHUFFLE)), ownLog.toString());
        assertTrue(shuffledLog.stream().anyMatch(line -> line.endsWith(SHUFFLE)), shuffledLog.toString());

        final int steps = (examples.size() + globalBatch - 1) / globalBatch * EPOCHS;
        assertEquals(steps, reference.getIterationCount());
        assertEquals(steps, ownPartitions.getIterationCount());
        final double change = reference.params().sub(initial.params()).norm2Number().doubleValue();
        final double difference = ownPartitions.params().sub(reference.params()).norm2Number().doubleValue();
        final double relative = difference / reference.params().norm2Number().doubleValue();
        System.out.printf("%s, %d workers x %d, %d examples, %d steps: relative difference to single-process DL4J " +
            "%.3e (absolute %.3e, training moved the parameters by %.3e)%n", what, workers, BATCH_PER_WORKER,
            examples.size(), steps, relative, difference, change);
        assertTrue(change > 1e-2, "training must have moved the parameters (moved " + change + ")");
        assertTrue(relative <= 1e-5, what + ": relative difference " + relative + " > 1e-5");
        assertArrayEquals(rawBits(shuffled.params()), rawBits(ownPartitions.params()),
            what + ": the two data paths trained different models");
        assertArrayEquals(rawBits(shuffled.getUpdater().getStateViewArray()),
            rawBits(ownPartitions.getUpdater().getStateViewArray()), what + ": updater states differ");
        return ownPartitions;
    }

    static int[] rawBits(final INDArray array)
    {
        final float[] values = array.dup().data().asFloat();
        final int[] bits = new int[values.length];
        for (int i = 0; i < values.length; i++)
        {
            bits[i] = Float.floatToRawIntBits(values[i]);
        }
        return bits;
    }

    /** Consecutive examples merged into source DataSets of {@code size} (the last may be smaller). */
    private static List<DataSet> sources(final List<DataSet> examples, final int size)
    {
        final List<DataSet> sources = new ArrayList<>();
        for (int start = 0; start < examples.size(); start += size)
        {
            sources.add(DataSet.merge(examples.subList(start, Math.min(examples.size(), start + size))));
        }
        return sources;
    }

    /** 28x28 single-channel images; the class is the brightest quadrant. */
    private static List<DataSet> images(final int count, final long seed)
    {
        final Random random = new Random(seed);
        final List<DataSet> examples = new ArrayList<>();
        for (int i = 0; i < count; i++)
        {
            final float[] pixels = new float[28 * 28];
            final double[] quadrants = new double[4];
            for (int p = 0; p < pixels.length; p++)
            {
                pixels[p] = random.nextFloat();
                quadrants[(p / 28 / 14) * 2 + (p % 28) / 14] += pixels[p];
            }
            int label = 0;
            for (int q = 1; q < 4; q++)
            {
                label = quadrants[q] > quadrants[label] ? q : label;
            }
            final float[] y = new float[4];
            y[label] = 1;
            examples.add(new DataSet(Nd4j.create(pixels, new long[] {1, 1, 28, 28}, DataType.FLOAT),
                Nd4j.create(y, new long[] {1, 4}, DataType.FLOAT)));
        }
        return examples;
    }

    /**
     * {@code size} sequences of {@code length} steps ([size, 3, length] features, [size, 4, length] one-hot labels),
     * each with its own number of valid steps (feature mask) and no label on its first step (label mask); each
     * single sequence is also added to {@code examples}.
     */
    static DataSet sequences(final int size, final int length, final Random random,
        final List<DataSet> examples)
    {
        final List<DataSet> single = new ArrayList<>();
        for (int i = 0; i < size; i++)
        {
            final int valid = Math.max(1, length - random.nextInt(3));
            final INDArray x = Nd4j.zeros(DataType.FLOAT, 1, 3, length);
            final INDArray y = Nd4j.zeros(DataType.FLOAT, 1, 4, length);
            final INDArray featureMask = Nd4j.zeros(DataType.FLOAT, 1, length);
            final INDArray labelMask = Nd4j.zeros(DataType.FLOAT, 1, length);
            double sum = 0;
            for (int t = 0; t < length; t++)
            {
                for (int f = 0; f < 3; f++)
                {
                    final float value = (float)random.nextGaussian();
                    x.putScalar(new long[] {0, f, t}, value);
                    sum += f == 0 ? value : 0;
                }
                y.putScalar(new long[] {0, sum > 1 ? 0 : sum > 0 ? 1 : sum > -1 ? 2 : 3, t}, 1);
                featureMask.putScalar(0, t, t < valid ? 1 : 0);
                labelMask.putScalar(0, t, t < valid && t > 0 ? 1 : 0);
            }
            single.add(new DataSet(x, y, featureMask, labelMask));
        }
        examples.addAll(single);
        return DataSet.merge(single);
    }

    private static MultiLayerNetwork cnn()
    {
        final MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder()
            .seed(7).dataType(DataType.FLOAT).updater(new Adam(0.01)).weightInit(WeightInit.XAVIER)
            .list()
            .layer(new ConvolutionLayer.Builder(5, 5).nIn(1).nOut(4).activation(Activation.RELU).build())
            .layer(new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX).kernelSize(2, 2).stride(2, 2)
                .build())
            .layer(new DenseLayer.Builder().nOut(16).activation(Activation.RELU).build())
            .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(4).activation(Activation.SOFTMAX)
                .build())
            .setInputType(InputType.convolutional(28, 28, 1))
            .build();
        final MultiLayerNetwork network = new MultiLayerNetwork(conf);
        network.init();
        return network;
    }

    private static MultiLayerNetwork lstm()
    {
        final MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder()
            .seed(11).dataType(DataType.FLOAT).updater(new Adam(0.02)).weightInit(WeightInit.XAVIER)
            .list()
            .layer(new LSTM.Builder().nIn(3).nOut(8).activation(Activation.TANH).build())
            .layer(new RnnOutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(8).nOut(4)
                .activation(Activation.SOFTMAX).build())
            .build();
        final MultiLayerNetwork network = new MultiLayerNetwork(conf);
        network.init();
        return network;
    }
}
