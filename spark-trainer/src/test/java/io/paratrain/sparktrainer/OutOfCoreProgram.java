package io.paratrain.sparktrainer;

import org.apache.spark.api.java.JavaSparkContext;
import org.bytedeco.javacpp.Pointer;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The child JVM of {@link OutOfCoreTest}: trains a fresh network with {@code fitPaths} on the exported files of each
 * folder given, in name order, one fit per (spillAboveBytes, folder, output) triple, and writes each trained
 * network's parameters (raw float bits, big-endian) to its output file. Exits 0 when every fit succeeded, 1 with the
 * stack trace otherwise.
 */
public final class OutOfCoreProgram
{
    static final int FEATURES = 1024;
    static final int CLASSES = 4;
    static final int BATCH_PER_WORKER = 2048;
    static final int EPOCHS = 2;
    /** Printed before the figures of each fit. */
    static final String FIT = "out-of-core fit: ";

    private OutOfCoreProgram()
    {
    }

    public static void main(final String[] args)
    {
        int exit = 1;
        try
        {
            run(args);
            exit = 0;
        }
        catch (final Throwable failure) // the test reads the cause from the output, then the exit code
        {
            failure.printStackTrace(System.out);
        }
        System.out.flush();
        // Spark 3.5 leaves non-daemon timer threads behind a barrier stage (NOTES.md)
        System.exit(exit);
    }

    private static void run(final String[] args) throws IOException
    {
        // Spark reserves 300 MB of the heap and refuses a heap under 450 MB: a smaller reserve lets the heap be small
        final JavaSparkContext sc = LocalSpark.start(2, Map.of("spark.testing.reservedMemory",
            String.valueOf(64L << 20)));
        try
        {
            for (int i = 0; i + 2 < args.length; i += 3)
            {
                fit(sc, Long.parseLong(args[i]), Path.of(args[i + 1]), Path.of(args[i + 2]));
            }
        }
        finally
        {
            sc.stop();
        }
    }

    private static void fit(final JavaSparkContext sc, final long spillAboveBytes, final Path folder, final Path out)
        throws IOException
    {
        final List<String> paths;
        try (Stream<Path> files = Files.list(folder))
        {
            paths = files.map(Path::toString).sorted().toList();
        }
        final TrainerConfig config = TrainerConfig.builder().workers(2).batchSizePerWorker(BATCH_PER_WORKER)
            .epochs(EPOCHS).ompThreadsPerWorker(1).checksumEverySteps(0).spillAboveBytes(spillAboveBytes).build();
        final MultiLayerNetwork network = network();
        final long startNs = System.nanoTime();
        final TrainingSummary summary = new DataParallelTrainer(sc, config).fitPaths(network,
            sc.parallelize(paths, 4));
        System.out.printf("%s%s spillAboveBytes=%d: %d examples, %d steps x %d epochs in %.1f s; heap max %d MB, " +
            "JavaCPP maxBytes %d MB, maxPhysicalBytes %d MB, physical now %d MB%n", FIT, folder.getFileName(),
            spillAboveBytes, summary.examplesPerEpoch(), summary.stepsPerEpoch(), EPOCHS,
            (System.nanoTime() - startNs) / 1e9, Runtime.getRuntime().maxMemory() >> 20, Pointer.maxBytes() >> 20,
            Pointer.maxPhysicalBytes() >> 20, Pointer.physicalBytes() >> 20);
        final float[] params = network.params().dup('c').data().asFloat();
        try (DataOutputStream write = new DataOutputStream(Files.newOutputStream(out)))
        {
            for (final float value : params)
            {
                write.writeInt(Float.floatToRawIntBits(value));
            }
        }
    }

    static MultiLayerNetwork network()
    {
        final MultiLayerNetwork network = new MultiLayerNetwork(new NeuralNetConfiguration.Builder()
            .seed(42)
            .dataType(DataType.FLOAT)
            .updater(new Adam(1e-3))
            .weightInit(WeightInit.XAVIER)
            .list()
            .layer(new DenseLayer.Builder().nIn(FEATURES).nOut(8).activation(Activation.TANH).build())
            .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(8).nOut(CLASSES)
                .activation(Activation.SOFTMAX).build())
            .build());
        network.init();
        return network;
    }
}
