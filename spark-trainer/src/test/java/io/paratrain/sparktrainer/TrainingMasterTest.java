package io.paratrain.sparktrainer;

import io.paratrain.sparktrainer.dl4j.AllReduceTrainingMaster;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.spark.impl.multilayer.SparkDl4jMultiLayer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.Adam;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
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
        final AllReduceTrainingMaster master = new AllReduceTrainingMaster(TrainerConfig.builder()
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

    @Test
    void unsupportedEntryPointsAreRefusedWithAReason()
    {
        final AllReduceTrainingMaster master = new AllReduceTrainingMaster(TrainerConfig.builder().build());
        final UnsupportedOperationException ex = assertThrows(UnsupportedOperationException.class,
            () -> master.setCollectTrainingStats(true));
        assertTrue(ex.getMessage().contains("SparkTrainingStats"), ex.getMessage());
        assertThrows(UnsupportedOperationException.class, () -> master.executeTraining(
            (org.deeplearning4j.spark.impl.graph.SparkComputationGraph)null, null));
        assertTrue(master.toJson().contains("\"workers\":2"), master.toJson());
    }
}
