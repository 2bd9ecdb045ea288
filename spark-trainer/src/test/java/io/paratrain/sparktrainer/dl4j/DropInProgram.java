package io.paratrain.sparktrainer.dl4j;

import io.paratrain.sparktrainer.LocalSpark;
import io.paratrain.sparktrainer.TrainerConfig;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.spark.impl.multilayer.SparkDl4jMultiLayer;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A DL4J Spark user's program, run in a JVM of its own by {@link ProgramExitTest}: trains a small network through
 * {@code SparkDl4jMultiLayer} with {@link AllReduceTrainingMaster} in local mode, stops the context and returns
 * from {@code main} without {@code System.exit}. It prints {@link #STOPPED} once the context has stopped; a daemon
 * thread then reports every non-daemon thread still alive after a few seconds, for the test's failure message.
 */
public final class DropInProgram
{
    static final String STOPPED = "paratrain-test: context stopped";
    static final String LEFT = "paratrain-test: non-daemon thread left: ";
    static final long REPORT_AFTER_MS = 4_000;

    private DropInProgram()
    {
    }

    public static void main(final String[] args)
    {
        final JavaSparkContext sc = LocalSpark.start(2);
        final MultiLayerNetwork network = new MultiLayerNetwork(new NeuralNetConfiguration.Builder()
            .seed(1).dataType(DataType.FLOAT).updater(new Sgd(0.1)).list()
            .layer(new DenseLayer.Builder().nIn(4).nOut(8).activation(Activation.TANH).build())
            .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(8).nOut(2)
                .activation(Activation.SOFTMAX).build())
            .build());
        network.init();
        final List<DataSet> batches = new ArrayList<>();
        for (int b = 0; b < 8; b++)
        {
            final INDArray labels = Nd4j.zeros(DataType.FLOAT, 8, 2);
            for (int row = 0; row < 8; row++)
            {
                labels.putScalar(row, (row + b) % 2, 1);
            }
            batches.add(new DataSet(Nd4j.rand(DataType.FLOAT, 8, 4), labels));
        }
        final SparkDl4jMultiLayer spark = new SparkDl4jMultiLayer(sc, network, new AllReduceTrainingMaster(
            TrainerConfig.builder().epochs(1).workers(2).batchSizePerWorker(4).build()));
        spark.fit(sc.parallelize(batches, 2));
        sc.stop();
        System.out.println(STOPPED);
        final Thread reporter = new Thread(DropInProgram::reportThreadsLeft, "paratrain-test-thread-report");
        reporter.setDaemon(true);
        reporter.start();
    }

    private static void reportThreadsLeft()
    {
        try
        {
            Thread.sleep(REPORT_AFTER_MS);
        }
        catch (final InterruptedException ex)
        {
            return;
        }
        for (final Map.Entry<Thread, StackTraceElement[]> thread : Thread.getAllStackTraces().entrySet())
        {
            // DestroyJavaVM is the JVM's own: it waits for the others once main has returned
            if (!thread.getKey().isDaemon() && thread.getKey().isAlive() &&
                !"DestroyJavaVM".equals(thread.getKey().getName()))
            {
                final StackTraceElement[] stack = thread.getValue();
                System.out.println(LEFT + thread.getKey().getName() + (stack.length == 0 ? "" : " at " + stack[0]));
            }
        }
        System.out.flush();
    }
}
