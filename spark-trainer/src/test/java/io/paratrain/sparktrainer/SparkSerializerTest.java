package io.paratrain.sparktrainer;

import io.paratrain.modelsplit.SplitConfig;
import io.paratrain.sparktrainer.dl4j.AllReduceTrainingMaster;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.spark.impl.multilayer.SparkDl4jMultiLayer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.Adam;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * What a fit ships through Spark (job and task results, broadcasts, shuffled examples) must not depend on the
 * user's {@code spark.serializer}: Java serialization, Kryo without a registrator, Kryo with DL4J's recommended
 * {@code Nd4jRegistrator} and Kryo with Paratrain's registrator all train the same model, bit for bit. The training
 * data is made on the executors, so that only what Paratrain itself ships goes through the serializer.
 */
@ExtendWith(NothingLeftBehind.class)
@Tag("slow")
@Timeout(900)
class SparkSerializerTest
{
    private static final int WORKERS = 2;
    private static final int EXAMPLES = WORKERS * 8 * 10;

    enum SerializerSetup
    {
        /** DL4J's SparkDl4jMultiLayer refuses it (its constructor checks that Kryo can carry an INDArray). */
        KRYO(Map.of(), false),
        KRYO_ND4J_REGISTRATOR(Map.of("spark.kryo.registrator", "org.nd4j.kryo.Nd4jRegistrator"), true),
        KRYO_PARATRAIN_REGISTRATOR(Map.of("spark.kryo.registrator",
            "io.paratrain.sparktrainer.serialization.ParatrainKryoRegistrator"), true);

        final Map<String, String> settings;
        /** Whether the data-parallel fits go through the drop-in; else through DataParallelTrainer, which it calls. */
        final boolean dropIn;

        SerializerSetup(final Map<String, String> registrator, final boolean dropIn)
        {
            this.dropIn = dropIn;
            final Map<String, String> all = new java.util.HashMap<>(registrator);
            all.put("spark.serializer", "org.apache.spark.serializer.KryoSerializer");
            this.settings = Map.copyOf(all);
        }
    }

    /** What Java serialization (Spark's default) trains: the reference. */
    private static Results javaSerialization;

    @BeforeAll
    static void trainWithJavaSerialization()
    {
        javaSerialization = trainAll(Map.of(), true);
    }

    @AfterAll
    static void forget()
    {
        javaSerialization = null;
    }

    @ParameterizedTest
    @EnumSource(SerializerSetup.class)
    void everyFitTrainsBitForBitWhatJavaSerializationTrains(final SerializerSetup setup)
    {
        final Results results = trainAll(setup.settings, setup.dropIn);
        assertArrayEquals(javaSerialization.exchanged(), results.exchanged(),
            "drop-in, examples exchanged over the ring (partitions = workers), raw float bits");
        assertArrayEquals(javaSerialization.shuffled(), results.shuffled(),
            "drop-in, examples routed through a Spark shuffle (partitions != workers), raw float bits");
        assertArrayEquals(javaSerialization.split(), results.split(), "model split, raw float bits");
        assertEquals(javaSerialization.evaluation(), results.evaluation(), "DataParallelTrainer.evaluate");
    }

    private record Results(int[] exchanged, int[] shuffled, int[] split, String evaluation)
    {
    }

    private static Results trainAll(final Map<String, String> settings, final boolean dropIn)
    {
        final JavaSparkContext sc = LocalSpark.start(WORKERS, settings);
        try
        {
            final TrainerConfig config = TrainerConfig.builder().workers(WORKERS).batchSizePerWorker(8).epochs(2)
                .build();
            final int[] exchanged = RawBits.of(dataParallel(sc, config, dropIn, WORKERS).params());
            final MultiLayerNetwork shuffledNetwork = dataParallel(sc, config, dropIn, WORKERS + 1);
            final MultiLayerNetwork split = Networks.mlp(new Adam(0.01), 3);
            new ModelSplitTrainer(sc, ModelSplitConfig.builder(SplitConfig.of(WORKERS, 0, 1))
                .epochs(1).batchSize(16).build())
                .fit(split, madeOnExecutors(sc, 3));
            final Evaluation evaluation = new DataParallelTrainer(sc, config).evaluate(shuffledNetwork,
                madeOnExecutors(sc, 3));
            return new Results(exchanged, RawBits.of(shuffledNetwork.params()), RawBits.of(split.params()), evaluation.stats(false, true));
        }
        finally
        {
            sc.stop();
        }
    }

    private static MultiLayerNetwork dataParallel(final JavaSparkContext sc, final TrainerConfig config,
        final boolean dropIn, final int partitions)
    {
        final MultiLayerNetwork network = Networks.mlp(new Adam(0.01), 3);
        if (dropIn)
        {
            return new SparkDl4jMultiLayer(sc, network, new AllReduceTrainingMaster(config))
                .fit(madeOnExecutors(sc, partitions));
        }
        new DataParallelTrainer(sc, config).fit(network, madeOnExecutors(sc, partitions));
        return network;
    }

    /** {@link Networks#examples} in minibatches of 10, cut into {@code partitions} partitions where they are read. */
    private static JavaRDD<DataSet> madeOnExecutors(final JavaSparkContext sc, final int partitions)
    {
        return sc.parallelize(IntStream.range(0, partitions).boxed().toList(), partitions).flatMap(partition ->
        {
            final List<DataSet> batches = Networks.minibatches(Networks.examples(EXAMPLES, 23), 10);
            final List<DataSet> mine = new ArrayList<>();
            for (int b = 0; b < batches.size(); b++)
            {
                if (b * partitions / batches.size() == partition)
                {
                    mine.add(batches.get(b));
                }
            }
            return mine.iterator();
        });
    }
}
