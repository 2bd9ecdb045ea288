package io.paratrain.sparktrainer;

import io.paratrain.sparktrainer.exceptions.InsufficientSlotsException;
import io.paratrain.sparktrainer.exceptions.TrainerConfigException;
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

/**
 * A fit that needs more task slots than Spark can give fails on the driver instead of leaving a barrier stage
 * pending: in local mode at once, as no executor can join it (the wait on a cluster is BarrierSlotsWaitTest's). A
 * wait the caller asked for beforehand spares the fits it stands for their own check.
 */
@Timeout(60)
class BarrierSlotsTest
{
    @RegisterExtension
    static final LocalSpark SPARK = new LocalSpark(2);

    @Test
    void threeWorkersOnTwoLocalSlotsFailAtOnceNamingBothCountsAndTheMaster()
    {
        final MultiLayerNetwork network = Networks.mlp(new org.nd4j.linalg.learning.config.Sgd(0.1), 1);
        final List<DataSet> examples = Networks.examples(12, 5);
        final JavaRDD<DataSet> data = SPARK.sc().parallelize(examples, 2);
        // the default wait (60 s) applies on a cluster; local mode must not spend it
        final DataParallelTrainer trainer = new DataParallelTrainer(SPARK.sc(),
            TrainerConfig.builder().epochs(1).workers(3).batchSizePerWorker(2).build());
        assertEquals(Defaults.SLOT_WAIT_MS, trainer.config().slotWaitMs());
        final float[] before = network.params().toFloatVector();
        final long startNs = System.nanoTime();
        final InsufficientSlotsException error = assertThrows(InsufficientSlotsException.class,
            () -> trainer.fit(network, data));
        final long failedAfterMs = (System.nanoTime() - startNs) / 1_000_000;
        System.out.println("3 workers on local[2] refused after " + failedAfterMs + " ms");
        assertEquals("the data-parallel fit needs 3 task slots at once (one barrier task each), but Spark in local " +
            "mode (master local[2], spark.task.cpus=1) has 2 and cannot gain more: start it with more cores " +
            "(local[N] with N >= 3 x spark.task.cpus) or train with at most 2 tasks", error.getMessage());
        assertTrue(failedAfterMs < 10_000, "failed after " + failedAfterMs + " ms, not at once");
        assertEquals(0, SPARK.sc().statusTracker().getActiveStageIds().length, "no stage left waiting for slots");
        org.junit.jupiter.api.Assertions.assertArrayEquals(before, network.params().toFloatVector());
    }

    /**
     * A caller that waits for the slots before fitting in parts (the job's --plot, one epoch per fit) spares as many
     * fits their check as it says, and no more.
     */
    @Test
    void aWaitForTwoFitsSparesTheirChecksAndTheThirdFitChecksAgain() throws Exception
    {
        final MultiLayerNetwork network = Networks.mlp(new org.nd4j.linalg.learning.config.Sgd(0.1), 1);
        final JavaRDD<DataSet> data = SPARK.sc().parallelize(Networks.examples(12, 5), 2);
        final DataParallelTrainer trainer = new DataParallelTrainer(SPARK.sc(),
            TrainerConfig.builder().epochs(1).workers(2).batchSizePerWorker(2).ompThreadsPerWorker(1).build());
        final List<String> checks = SlotChecks.during(() ->
        {
            trainer.awaitSlots("two fits", 2);
            for (int fit = 0; fit < 3; fit++)
            {
                trainer.fit(network, data);
            }
        });
        assertEquals(List.of("two fits needs 2 task slots, the cluster has 2",
            "the data-parallel fit needs 2 task slots, the cluster has 2"), checks);
        assertEquals(3 * 3, network.getIterationCount(), "3 fits of 3 steps of 4 examples");
        assertEquals("invalid awaitSlots fits=0: expected >= 1 (the fits that the wait stands for)",
            assertThrows(TrainerConfigException.class, () -> trainer.awaitSlots("no fit", 0)).getMessage());
    }
}
