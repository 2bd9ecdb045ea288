package io.paratrain.sparktrainer;

import io.paratrain.sparktrainer.dl4j.AllReduceTrainingMaster;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.spark.impl.multilayer.SparkDl4jMultiLayer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.schedule.ExponentialSchedule;
import org.nd4j.linalg.schedule.ScheduleType;
import org.deeplearning4j.datasets.iterator.utilty.ListDataSetIterator;
import org.apache.spark.api.java.JavaRDD;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The one-line change for DL4J Spark users: SparkDl4jMultiLayer with our TrainingMaster. */
@Timeout(300)
class TrainingMasterTest
{
    @RegisterExtension
    static final LocalSpark SPARK = new LocalSpark(2);

    @Test
    void sparkDl4jMultiLayerTrainsLikeOneProcessWithTheCombinedBatch()
    {
        final List<DataSet> examples = Networks.examples(2 * 16 * 30, 11);
        final MultiLayerNetwork reference = Networks.mlp(new Adam(0.01), 5);
        final MultiLayerNetwork initial = reference.clone();
        for (final DataSet batch : Networks.minibatches(examples, 32))
        {
            reference.fit(batch);
        }
        final AllReduceTrainingMaster master = new AllReduceTrainingMaster(TrainerConfig.builder().epochs(1)
            .workers(2).batchSizePerWorker(16).build());
        final SparkDl4jMultiLayer spark = new SparkDl4jMultiLayer(SPARK.sc(), initial, master);
        final MultiLayerNetwork trained = spark.fit(SPARK.sc().parallelize(Networks.minibatches(examples, 10), 2));

        final double relative = trained.params().sub(reference.params()).norm2Number().doubleValue() /
            reference.params().norm2Number().doubleValue();
        assertTrue(relative <= 1e-5, "relative difference " + relative);
        assertEquals(30, master.lastSummary().stepsPerEpoch());
        assertEquals(master.lastSummary().finalLoss(), spark.getScore());

        final Evaluation evaluation = spark.evaluate(SPARK.sc().parallelize(Networks.minibatches(examples, 64), 2));
        final Evaluation local = reference.evaluate(new org.deeplearning4j.datasets.iterator.utilty
            .ListDataSetIterator<>(Networks.minibatches(examples, 64)));
        assertEquals(local.accuracy(), evaluation.accuracy(), 1e-6, "DL4J's own evaluation of the trained model");
        assertTrue(evaluation.accuracy() > 0.5, "the pattern is learnable: " + evaluation.accuracy());
    }

    /**
     * An epoch-scheduled learning rate (halved every epoch) over repeated {@code fit} calls: the drop-in, and
     * {@link DataParallelTrainer} used directly, each count exactly the epochs they train, as one process does.
     */
    @ParameterizedTest(name = "{0} epoch(s) per fit")
    @ValueSource(ints = {1, 2})
    void repeatedFitsCountTheirEpochsLikeOneProcessWithAnEpochSchedule(final int epochsPerFit)
    {
        final int fits = 3;
        final List<DataSet> examples = Networks.examples(2 * 8 * 10, 17);
        final MultiLayerNetwork reference = Networks.mlp(new Adam(new ExponentialSchedule(ScheduleType.EPOCH, 0.02,
            0.5)), 9);
        final MultiLayerNetwork initial = reference.clone();
        final MultiLayerNetwork direct = reference.clone();
        final TrainerConfig config = TrainerConfig.builder().workers(2).batchSizePerWorker(8).epochs(epochsPerFit)
            .build();
        final SparkDl4jMultiLayer spark = new SparkDl4jMultiLayer(SPARK.sc(), initial,
            new AllReduceTrainingMaster(config));
        final DataParallelTrainer trainer = new DataParallelTrainer(SPARK.sc(), config);
        final JavaRDD<DataSet> data = SPARK.sc().parallelize(Networks.minibatches(examples, 10), 2);
        for (int fit = 1; fit <= fits; fit++)
        {
            reference.fit(new ListDataSetIterator<>(Networks.minibatches(examples, 16), 1), epochsPerFit);
            spark.fit(data);
            trainer.fit(direct, data);
            assertEquals(fit * epochsPerFit, reference.getEpochCount(), "one process after fit " + fit);
            assertEquals(fit * epochsPerFit, spark.getNetwork().getEpochCount(), "the drop-in after fit " + fit);
            assertEquals(fit * epochsPerFit, direct.getEpochCount(), "DataParallelTrainer after fit " + fit);
        }
        assertEquals(reference.getIterationCount(), spark.getNetwork().getIterationCount());
        for (final MultiLayerNetwork trained : List.of(spark.getNetwork(), direct))
        {
            final double relative = trained.params().sub(reference.params()).norm2Number().doubleValue() /
                reference.params().norm2Number().doubleValue();
            System.out.printf("%d fits x %d epoch(s) with an epoch schedule: relative difference to one process " +
                "%.2e (%s)%n", fits, epochsPerFit, relative, trained == direct ? "DataParallelTrainer" : "drop-in");
            assertTrue(relative <= 1e-5, "relative difference " + relative);
        }
    }

    /** The refusals have their own test, one case each: dl4j/TrainingMasterRefusalsTest. */
    @Test
    void toJsonDescribesTheConfiguration()
    {
        final AllReduceTrainingMaster master = new AllReduceTrainingMaster(TrainerConfig.builder()
            .epochs(1).batchSizePerWorker(32).build());
        assertTrue(master.toJson().contains("\"workers\":2"), master.toJson());
    }
}
