package io.paratrain.sparktrainer.conf;

import io.paratrain.sparktrainer.internal.snapshot.ModelSnapshot;
import io.paratrain.sparktrainer.internal.driver.ModelSender;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.config.Configuration;
import org.apache.logging.log4j.core.config.ConfigurationSource;
import org.apache.logging.log4j.core.config.properties.PropertiesConfigurationFactory;
import org.apache.spark.SparkConf;
import org.apache.spark.resource.ResourceDiscoveryScriptPlugin;
import org.apache.spark.resource.ResourceID;
import org.apache.spark.resource.ResourceInformation;
import org.apache.spark.resource.ResourceRequest;
import org.apache.spark.serializer.KryoRegistrator;
import org.apache.spark.serializer.KryoSerializer;
import org.apache.spark.serializer.SerializerInstance;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.yaml.snakeyaml.Yaml;
import scala.reflect.ClassTag;
import scala.reflect.ClassTag$;

import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Parses every template in conf/ and checks what the job relies on; round-trips ND4J types through the Kryo set-up. */
@Timeout(120)
class ConfTemplatesTest
{
    /** conf/ of the repository; surefire runs in the module folder. */
    static final Path CONF = Path.of("..", "conf").toAbsolutePath().normalize();
    private static final String AERON_EXPORT = "--add-exports java.base/jdk.internal.misc=ALL-UNNAMED";

    @TempDir
    Path dir;

    static Properties sparkDefaults(final String name) throws IOException
    {
        final Properties properties = new Properties(); // spark-defaults.conf is "key<whitespace>value", as here
        try (Reader reader = Files.newBufferedReader(CONF.resolve("spark-defaults-" + name + ".conf")))
        {
            properties.load(reader);
        }
        return properties;
    }

    @ParameterizedTest
    @ValueSource(strings = {"local", "standalone", "yarn", "kubernetes"})
    void everyTemplateSetsKryoWithOurRegistratorAndTheJava17Flags(final String name) throws Exception
    {
        final Properties conf = sparkDefaults(name);
        assertEquals(KryoSerializer.class.getName(), conf.getProperty("spark.serializer"));
        final Class<?> registrator = Class.forName(conf.getProperty("spark.kryo.registrator"));
        assertTrue(KryoRegistrator.class.isAssignableFrom(registrator), registrator + " is not a KryoRegistrator");
        assertTrue(conf.getProperty("spark.driver.extraJavaOptions").contains(AERON_EXPORT), name + ": driver flags");
        if (!name.equals("local"))
        {
            assertTrue(conf.getProperty("spark.executor.extraJavaOptions").contains(AERON_EXPORT),
                name + ": executor flags");
            assertEquals("1", conf.getProperty("spark.executor.resource.gpu.amount"), name);
            assertEquals("1", conf.getProperty("spark.task.resource.gpu.amount"), name);
            assertTrue(conf.getProperty("spark.executor.resource.gpu.discoveryScript").endsWith("gpu-discovery.sh"),
                name);
            // the barrier stage must give up rather than wait for slots for ever
            assertEquals("4", conf.getProperty("spark.scheduler.barrier.maxConcurrentTasksCheck.maxFailures"), name);
            assertEquals("1", conf.getProperty("spark.task.cpus"), name);
            if (name.equals("standalone"))
            {
                // a dead executor's routed examples stay fetchable: the retried stage does not recompute them
                assertEquals("true", conf.getProperty("spark.shuffle.service.enabled"), name);
            }
        }
        else
        {
            assertTrue(conf.getProperty("spark.master").startsWith("local["), name);
            assertNull(conf.getProperty("spark.task.resource.gpu.amount"), "local mode cannot schedule GPUs");
        }
        // every template is also a valid SparkConf (Spark parses the sizes and durations it names)
        final SparkConf sparkConf = new SparkConf(false);
        conf.stringPropertyNames().forEach(key -> sparkConf.set(key, conf.getProperty(key)));
        assertEquals(512L * 1024, sparkConf.getSizeAsKb("spark.kryoserializer.buffer.max"));
    }

    @Test
    void kubernetesAsksForNvidiaGpusAndUsesThePodTemplate() throws Exception
    {
        final Properties conf = sparkDefaults("kubernetes");
        assertEquals("nvidia.com", conf.getProperty("spark.executor.resource.gpu.vendor"));
        assertTrue(conf.getProperty("spark.master").startsWith("k8s://"));
        assertEquals("false", conf.getProperty("spark.dynamicAllocation.enabled"));
        final Path template = CONF.resolve(Path.of(conf.getProperty("spark.kubernetes.executor.podTemplateFile"))
            .getFileName());
        final Map<String, Object> pod;
        try (InputStream in = Files.newInputStream(template))
        {
            pod = new Yaml().load(in);
        }
        assertEquals("Pod", pod.get("kind"));
        final Map<?, ?> spec = (Map<?, ?>)pod.get("spec");
        final Map<?, ?> container = (Map<?, ?>)((List<?>)spec.get("containers")).get(0);
        assertEquals("spark-kubernetes-executor", container.get("name"), "Spark's executor container name");
        final Map<?, ?> limits = (Map<?, ?>)((Map<?, ?>)container.get("resources")).get("limits");
        assertEquals(1, limits.get("nvidia.com/gpu"));
        final Map<?, ?> mount = (Map<?, ?>)((List<?>)container.get("volumeMounts")).get(0);
        assertEquals("/dev/shm", mount.get("mountPath"), "Aeron IPC needs a large /dev/shm");
        final Map<?, ?> volume = (Map<?, ?>)((List<?>)spec.get("volumes")).get(0);
        assertEquals(mount.get("name"), volume.get("name"));
        assertEquals("Memory", ((Map<?, ?>)volume.get("emptyDir")).get("medium"));
    }

    @Test
    void yarnRunsAFixedExecutorCount() throws Exception
    {
        final Properties conf = sparkDefaults("yarn");
        assertEquals("yarn", conf.getProperty("spark.master"));
        assertEquals("false", conf.getProperty("spark.dynamicAllocation.enabled"));
        assertTrue(conf.getProperty("spark.yarn.dist.files").endsWith("gpu-discovery.sh"));
    }

    @Test
    void theGpuDiscoveryScriptPrintsWhatSparksPluginReads() throws Exception
    {
        // a fake nvidia-smi answering the query the script makes, first on PATH
        final Path bin = Files.createDirectory(dir.resolve("bin"));
        final Path smi = bin.resolve("nvidia-smi");
        Files.writeString(smi, "#!/bin/sh\n[ \"$1\" = --query-gpu=index ] && [ \"$2\" = --format=csv,noheader ] " +
            "|| exit 9\nprintf '0\\n1\\n3\\n'\n");
        Files.setPosixFilePermissions(smi, PosixFilePermissions.fromString("rwxr-xr-x"));
        final Path wrapper = dir.resolve("discover.sh");
        Files.writeString(wrapper, "#!/bin/sh\nPATH=" + bin + ":$PATH exec " + CONF.resolve("gpu-discovery.sh") +
            "\n");
        Files.setPosixFilePermissions(wrapper, PosixFilePermissions.fromString("rwxr-xr-x"));
        final ResourceRequest request = new ResourceRequest(new ResourceID("spark.executor", "gpu"), 3,
            Optional.of(wrapper.toString()), Optional.empty());
        final ResourceInformation gpus = new ResourceDiscoveryScriptPlugin()
            .discoverResource(request, new SparkConf(false)).orElseThrow();
        assertEquals("gpu", gpus.name());
        assertArrayEquals(new String[] {"0", "1", "3"}, gpus.addresses());

        // without nvidia-smi: an empty list (Spark then reports too few GPUs, naming the resource), exit code 0
        final Process noSmi = new ProcessBuilder("/bin/bash", CONF.resolve("gpu-discovery.sh").toString())
            .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        noSmi.getOutputStream().close();
        final String output = new String(noSmi.getInputStream().readAllBytes()).trim();
        assertTrue(noSmi.waitFor(10, TimeUnit.SECONDS));
        if (!Files.isExecutable(Path.of("/usr/bin/nvidia-smi")))
        {
            assertEquals(0, noSmi.exitValue());
            assertEquals("{\"name\": \"gpu\", \"addresses\": []}", output);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"log4j2-cluster.properties", "log4j2-local.properties"})
    void log4jConfigurationsParseAndKeepParatrainAtInfo(final String name) throws Exception
    {
        try (InputStream in = Files.newInputStream(CONF.resolve(name)))
        {
            final Configuration configuration = new PropertiesConfigurationFactory().getConfiguration(
                new LoggerContext("conf-test"), new ConfigurationSource(in, CONF.resolve(name).toFile()));
            configuration.initialize();
            assertEquals(Level.WARN, configuration.getRootLogger().getLevel());
            assertEquals(Level.INFO, configuration.getLoggerConfig("io.paratrain.sparktrainer").getLevel());
            assertNotNull(configuration.getAppender("stderr"));
        }
    }

    /**
     * The logging instruction for a standalone cluster (in log4j2-cluster.properties), as written: a JVM started
     * with its option (driver or executor; in an empty working folder, as a standalone executor starts before any
     * --files arrive) finds the configuration where the instruction says to copy it (that folder under a temp dir).
     */
    @Test
    void theClusterLoggingInstructionFindsTheConfigurationWhenAJvmStarts() throws Exception
    {
        final java.util.regex.Matcher option = java.util.regex.Pattern
            .compile("-Dlog4j2\\.configurationFile=(\\S+)")
            .matcher(Files.readString(CONF.resolve("log4j2-cluster.properties")));
        assertTrue(option.find(), "the template gives the log4j2 option");
        final String file = option.group(1);
        // An absolute path: copied there (moved under the temp dir). A relative name (--files): not in the working
        // folder when the JVM starts.
        final Path installed = file.startsWith("/") ? dir.resolve(file.substring(1)) :
            dir.resolve("fetched-later").resolve(file);
        Files.createDirectories(installed.getParent());
        Files.copy(CONF.resolve("log4j2-cluster.properties"), installed);
        final Path workingFolder = Files.createDirectory(dir.resolve("executor-work"));

        final String classPath = System.getProperty("surefire.test.class.path",
            System.getProperty("java.class.path"));
        final String optionHere = "-Dlog4j2.configurationFile=" + (file.startsWith("/") ? installed.toString() : file);
        final Process jvm = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-cp", classPath, optionHere, LogConfigurationProbe.class.getName())
            .directory(workingFolder.toFile()).redirectErrorStream(true).start();
        jvm.getOutputStream().close();
        final String output = new String(jvm.getInputStream().readAllBytes(),
            java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(jvm.waitFor(60, TimeUnit.SECONDS), output);
        assertEquals(0, jvm.exitValue(), output);
        assertEquals("location=" + installed + " root=WARN paratrain=INFO", output.trim(),
            "option as written: " + option.group());
    }

    @Test
    void theRegistratorRoundTripsArraysDataSetsAndModelsExactly() throws Exception
    {
        final Properties conf = sparkDefaults("standalone");
        final SparkConf sparkConf = new SparkConf(false)
            .set("spark.serializer", conf.getProperty("spark.serializer"))
            .set("spark.kryo.registrator", conf.getProperty("spark.kryo.registrator"))
            .set("spark.kryoserializer.buffer.max", conf.getProperty("spark.kryoserializer.buffer.max"));
        final SerializerInstance kryo = new KryoSerializer(sparkConf).newInstance();

        Nd4j.getRandom().setSeed(7);
        final INDArray floats = Nd4j.rand(DataType.FLOAT, 3, 5);
        final INDArray doubles = Nd4j.rand(DataType.DOUBLE, 4, 2, 3);
        final INDArray view = floats.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(1, 3),
            org.nd4j.linalg.indexing.NDArrayIndex.all());
        for (final INDArray array : List.of(floats, doubles, view, Nd4j.createFromArray(1L, -2L, Long.MAX_VALUE)))
        {
            final INDArray copy = roundTrip(kryo, array, INDArray.class);
            assertEquals(array.dataType(), copy.dataType());
            assertArrayEquals(array.shape(), copy.shape());
            assertExactlyEqual(array, copy);
        }

        final DataSet data = new DataSet(Nd4j.rand(DataType.FLOAT, 4, 6), Nd4j.eye(4).castTo(DataType.FLOAT));
        final DataSet copy = roundTrip(kryo, data, DataSet.class);
        assertExactlyEqual(data.getFeatures(), copy.getFeatures());
        assertExactlyEqual(data.getLabels(), copy.getLabels());
        assertNull(copy.getFeaturesMaskArray());
        final DataSet masked = new DataSet(Nd4j.rand(DataType.FLOAT, 2, 3, 5), Nd4j.rand(DataType.FLOAT, 2, 1, 5),
            Nd4j.ones(DataType.FLOAT, 2, 5), Nd4j.zeros(DataType.FLOAT, 2, 5));
        final DataSet maskedCopy = roundTrip(kryo, masked, DataSet.class);
        assertExactlyEqual(masked.getFeaturesMaskArray(), maskedCopy.getFeaturesMaskArray());
        assertExactlyEqual(masked.getLabelsMaskArray(), maskedCopy.getLabelsMaskArray());
        assertExactlyEqual(masked.getFeatures(), maskedCopy.getFeatures());

        final MultiLayerNetwork network = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(3)
            .dataType(DataType.FLOAT).updater(new Adam(0.01)).list()
            .layer(new DenseLayer.Builder().nIn(6).nOut(5).activation(Activation.RELU).build())
            .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(5).nOut(4)
                .activation(Activation.SOFTMAX).build()).build());
        network.init();
        network.fit(data);
        final ModelSnapshot snapshot = ModelSnapshot.of(network);
        final ModelSnapshot snapshotCopy = roundTrip(kryo, snapshot, ModelSnapshot.class);
        assertArrayEquals(snapshot.parameters(), snapshotCopy.parameters());
        assertArrayEquals(snapshot.updaterState(), snapshotCopy.updaterState());
        assertEquals(snapshot.configuration().json(), snapshotCopy.configuration().json());
        assertEquals(1, snapshotCopy.iterationCount());
        // any other record the jobs return, such as rank 0's model delivery (records failed on the standalone cluster)
        final ModelSender.Delivery delivery = roundTrip(kryo, new ModelSender.Delivery(null, snapshot),
            ModelSender.Delivery.class);
        assertArrayEquals(snapshot.parameters(), delivery.inline().parameters());
    }

    /** Same type, shape and bits (INDArray.equals allows a difference of 1e-5). */
    private static void assertExactlyEqual(final INDArray expected, final INDArray actual)
    {
        assertEquals(expected.dataType(), actual.dataType());
        assertArrayEquals(expected.shape(), actual.shape());
        if (expected.dataType() == DataType.LONG)
        {
            assertArrayEquals(expected.ravel().toLongVector(), actual.ravel().toLongVector());
        }
        else
        {
            assertArrayEquals(expected.ravel().toDoubleVector(), actual.ravel().toDoubleVector());
        }
    }

    private static <T> T roundTrip(final SerializerInstance serializer, final T value, final Class<T> type)
    {
        final ClassTag<T> tag = ClassTag$.MODULE$.apply(type);
        return serializer.deserialize(serializer.serialize(value, tag), tag);
    }
}
