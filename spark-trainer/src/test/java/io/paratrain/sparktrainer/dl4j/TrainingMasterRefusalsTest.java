package io.paratrain.sparktrainer.dl4j;

import io.paratrain.sparktrainer.TrainerConfig;
import org.deeplearning4j.optimize.listeners.ScoreIterationListener;
import org.deeplearning4j.spark.impl.graph.SparkComputationGraph;
import org.deeplearning4j.spark.impl.multilayer.SparkDl4jMultiLayer;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The four parts of DL4J's TrainingMaster SPI that {@link AllReduceTrainingMaster} refuses, one case each, the same
 * list as its javadoc and the README: each refusal names the feature and what to use instead, rather than ignoring
 * the call.
 */
class TrainingMasterRefusalsTest
{
    private static final AllReduceTrainingMaster MASTER = new AllReduceTrainingMaster(TrainerConfig.builder().epochs(1).batchSizePerWorker(32).build());
    /** What every refusal says to use instead. */
    private static final String WAY_AROUND = "from JavaRDD<DataSet> via SparkDl4jMultiLayer.fit and " +
        "SparkComputationGraph.fit";

    static Stream<Arguments> refusals()
    {
        return Stream.of(
            Arguments.of("worker instances", "getWorkerInstance (replicas live inside the barrier stage)",
                (Executable)() -> MASTER.getWorkerInstance((SparkDl4jMultiLayer)null)),
            Arguments.of("worker instances of a graph", "getWorkerInstance (replicas live inside the barrier stage)",
                (Executable)() -> MASTER.getWorkerInstance((SparkComputationGraph)null)),
            Arguments.of("hooks", "does not support TrainingHooks", (Executable)() -> MASTER.addHook(null)),
            Arguments.of("hooks removed", "does not support TrainingHooks", (Executable)() -> MASTER.removeHook(null)),
            Arguments.of("DL4J listeners on the workers", "DL4J TrainingListeners on the workers (use " +
                "io.paratrain.sparktrainer.TrainingListener", (Executable)() -> MASTER.setListeners(
                List.of(new ScoreIterationListener(1)))),
            Arguments.of("DL4J's training stats", "DL4J's SparkTrainingStats",
                (Executable)() -> MASTER.setCollectTrainingStats(true)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("refusals")
    void isRefusedNamingTheFeatureAndTheWayAround(final String feature, final String named, final Executable call)
    {
        final UnsupportedOperationException refusal = assertThrows(UnsupportedOperationException.class, call,
            feature + " must be refused, not ignored");
        assertTrue(refusal.getMessage().contains(named), refusal.getMessage());
        assertTrue(refusal.getMessage().contains(WAY_AROUND), refusal.getMessage());
    }
}
