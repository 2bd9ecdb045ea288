package io.paratrain.sparktrainer;

import io.paratrain.sparktrainer.exceptions.InsufficientSlotsException;
import org.apache.spark.api.java.JavaRDD;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.nd4j.linalg.dataset.DataSet;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A fit that needs more task slots than the cluster has fails on the driver in bounded time instead of waiting. */
@Timeout(60)
class BarrierSlotsTest
{
    @RegisterExtension
    static final LocalSpark SPARK = new LocalSpark(2);

    @Test
    void threeWorkersOnTwoSlotsFailAfterTheWaitNamingBothCounts()
    {
        final MultiLayerNetwork network = Networks.mlp(new org.nd4j.linalg.learning.config.Sgd(0.1), 1);
        final List<DataSet> examples = Networks.examples(12, 5);
        final JavaRDD<DataSet> data = SPARK.sc().parallelize(examples, 2);
        final DataParallelTrainer trainer = new DataParallelTrainer(SPARK.sc(),
            TrainerConfig.builder().workers(3).batchSizePerWorker(2).slotWaitMs(1_500).build());
        final float[] before = network.params().toFloatVector();
        final long startNs = System.nanoTime();
        final InsufficientSlotsException error = assertThrows(InsufficientSlotsException.class,
            () -> trainer.fit(network, data));
        final long waitedMs = (System.nanoTime() - startNs) / 1_000_000;
        assertTrue(error.getMessage().contains("needs 3 task slots"), error.getMessage());
        assertTrue(error.getMessage().contains("the cluster has 2"), error.getMessage());
        assertTrue(waitedMs >= 1_500 && waitedMs < 10_000, "failed after " + waitedMs + " ms");
        assertEquals(0, SPARK.sc().statusTracker().getActiveStageIds().length, "no stage left waiting for slots");
        org.junit.jupiter.api.Assertions.assertArrayEquals(before, network.params().toFloatVector());
    }
}
