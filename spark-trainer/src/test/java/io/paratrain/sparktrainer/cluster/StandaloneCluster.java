package io.paratrain.sparktrainer.cluster;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;

/**
 * Test fixture: a Spark standalone cluster on loopback, a Master and a Worker in JVMs of their own, started from
 * the project's Maven dependencies, and jobs submitted to it through {@code org.apache.spark.deploy.SparkSubmit}
 * with the assembly jar, as a user would.
 * <p>
 * SPARK_HOME is a temporary folder with an empty {@code RELEASE} file and {@code jars/} linking Spark's jars from
 * the test classpath (the ones the assembly leaves out; DL4J, ND4J and Aeron come from the assembly jar). The
 * Worker needs {@code SPARK_SCALA_VERSION} or its executors fail with "Cannot find any build directories.".
 * The Worker offers {@code executors} cores and as many fake GPUs (a discovery script printing addresses 0..n-1),
 * so an application with {@code spark.executor.cores=1} gets that many 1-core executors with one GPU each.
 * {@link #close()} kills every process it started, with their children (the executors), and deletes its folder
 * and the Aeron folders its executors left in /dev/shm.
 */
public final class StandaloneCluster implements AutoCloseable
{
    public static final String HOST = "127.0.0.1";
    private static final long START_TIMEOUT_MS = 90_000;
    private static final Path SHM = Path.of("/dev/shm");

    /** Jars the assembly carries (or tests only use): left out of SPARK_HOME/jars, as on a real cluster. */
    private static final List<String> NOT_SPARK = List.of("/org/deeplearning4j/", "/org/nd4j/", "/org/bytedeco/",
        "/io/aeron/", "/org/agrona/", "/io/paratrain/", "/org/junit/", "/org/opentest4j/", "/org/apiguardian/",
        "/org/yaml/snakeyaml/");

    private final Path root;
    private final Path sparkHome;
    private final Path workDir;
    private final Path logs;
    private final Path gpuScript;
    private final int executors;
    private final List<String> daemonOptions;
    private final List<Process> processes = new ArrayList<>();
    private final Set<Path> shmBefore;
    private int masterPort;
    private int shuffleServicePort;
    private Process worker;

    private StandaloneCluster(final int executors, final List<String> daemonOptions) throws IOException
    {
        this.executors = executors;
        this.daemonOptions = List.copyOf(daemonOptions);
        this.shmBefore = paratrainShm();
        this.root = Files.createTempDirectory("paratrain-cluster-");
        this.sparkHome = Files.createDirectories(root.resolve("spark-home"));
        this.workDir = Files.createDirectories(root.resolve("work"));
        this.logs = Files.createDirectories(root.resolve("logs"));
        Files.createDirectories(root.resolve("local"));
        Files.createDirectories(root.resolve("tmp"));
        this.gpuScript = root.resolve("fake-gpus.sh");
    }

    /** Starts a Master and a Worker with {@code executors} cores and fake GPUs; waits until the Worker registered. */
    public static StandaloneCluster start(final int executors) throws IOException, InterruptedException,
        TimeoutException
    {
        return start(executors, List.of());
    }

    /**
     * Like {@link #start(int)}, with extra JVM options for the Master and the Worker (e.g. {@code
     * -Dspark.authenticate=true} and its secret, which both daemons and every application must share).
     */
    public static StandaloneCluster start(final int executors, final List<String> daemonOptions)
        throws IOException, InterruptedException, TimeoutException
    {
        final StandaloneCluster cluster = new StandaloneCluster(executors, daemonOptions);
        try
        {
            cluster.startProcesses();
            return cluster;
        }
        catch (IOException | InterruptedException | TimeoutException | RuntimeException ex)
        {
            cluster.close();
            throw ex;
        }
    }

    private void startProcesses() throws IOException, InterruptedException, TimeoutException
    {
        Files.createFile(sparkHome.resolve("RELEASE"));
        final Path jars = Files.createDirectories(sparkHome.resolve("jars"));
        int index = 0;
        for (final String entry : testClassPath())
        {
            // reactor modules resolve to their target/ folders or jars: they travel in the assembly
            if (entry.endsWith(".jar") && !entry.contains("/target/") && NOT_SPARK.stream().noneMatch(entry::contains))
            {
                final Path jar = Path.of(entry);
                Files.createSymbolicLink(jars.resolve(index++ + "-" + jar.getFileName()), jar);
            }
        }
        final StringBuilder addresses = new StringBuilder();
        for (int gpu = 0; gpu < executors; gpu++)
        {
            addresses.append(gpu == 0 ? "" : ", ").append('"').append(gpu).append('"');
        }
        Files.writeString(gpuScript, "#!/bin/sh\necho '{\"name\": \"gpu\", \"addresses\": [" + addresses + "]}'\n");
        Files.setPosixFilePermissions(gpuScript, PosixFilePermissions.fromString("rwxr-xr-x"));

        masterPort = freePort();
        final List<String> masterOptions = new ArrayList<>(List.of("-Xmx256m"));
        masterOptions.addAll(daemonOptions);
        final Process master = launch("master", masterOptions, "org.apache.spark.deploy.master.Master",
            List.of("--host", HOST, "--port", String.valueOf(masterPort), "--webui-port",
                String.valueOf(freePort())));
        awaitLog(master, logs.resolve("master.log"), "I have been elected leader");
        // the external shuffle service, as conf/spark-defaults-standalone.conf asks of workers, on a port of this
        // cluster's own (tests of several clusters may run on one machine)
        shuffleServicePort = freePort();
        final List<String> workerOptions = new ArrayList<>(List.of("-Xmx256m",
            "-Dspark.worker.resource.gpu.amount=" + executors,
            "-Dspark.worker.resource.gpu.discoveryScript=" + gpuScript, "-Dspark.shuffle.service.enabled=true",
            "-Dspark.shuffle.service.port=" + shuffleServicePort));
        workerOptions.addAll(daemonOptions);
        worker = launch("worker", workerOptions, "org.apache.spark.deploy.worker.Worker",
            List.of("--host", HOST, "--cores", String.valueOf(executors), "--memory", (executors * 1536) + "m",
                "--work-dir", workDir.toString(), "--webui-port", String.valueOf(freePort()), masterUrl()));
        awaitLog(worker, logs.resolve("worker.log"), "Successfully registered with master");
    }

    public String masterUrl()
    {
        return "spark://" + HOST + ":" + masterPort;
    }

    public Path root()
    {
        return root;
    }

    /** The Worker's work folder: one app-* folder per application, one folder per executor id inside. */
    public Path workDir()
    {
        return workDir;
    }

    public Path gpuScript()
    {
        return gpuScript;
    }

    /** The Worker's external shuffle service port: applications must set spark.shuffle.service.port to it. */
    public int shuffleServicePort()
    {
        return shuffleServicePort;
    }

    /**
     * Runs {@code SparkSubmit --master <this cluster> [--conf k=v ...] --class mainClass jar args} in a JVM of its
     * own (the driver, client mode) and waits for it to exit. The driver JVM gets the module flags of this JVM
     * plus {@code driverJvmOptions} (in client mode spark.driver.extraJavaOptions cannot apply: the JVM runs).
     */
    public Submission submit(final String name, final List<String> driverJvmOptions, final Path propertiesFile,
        final Map<String, String> conf, final Path jar, final String mainClass, final List<String> args,
        final long timeoutMs) throws IOException, InterruptedException
    {
        return startSubmit(name, driverJvmOptions, propertiesFile, conf, jar, mainClass, args).await(timeoutMs);
    }

    /** Like {@link #submit} without waiting: the caller awaits the returned driver. */
    public Driver startSubmit(final String name, final List<String> driverJvmOptions, final Path propertiesFile,
        final Map<String, String> conf, final Path jar, final String mainClass, final List<String> args)
        throws IOException
    {
        final List<String> submitArgs = new ArrayList<>(List.of("--master", masterUrl(), "--deploy-mode", "client",
            "--properties-file", propertiesFile.toString()));
        for (final Map.Entry<String, String> entry : conf.entrySet())
        {
            submitArgs.add("--conf");
            submitArgs.add(entry.getKey() + "=" + entry.getValue());
        }
        submitArgs.addAll(List.of("--class", mainClass, jar.toString()));
        submitArgs.addAll(args);
        final List<String> jvm = new ArrayList<>(List.of("-Xmx2g"));
        jvm.addAll(driverJvmOptions);
        final long startNs = System.nanoTime();
        final Process driver = launch(name, jvm, "org.apache.spark.deploy.SparkSubmit", submitArgs);
        return new Driver(driver, logs.resolve(name + ".log"), startNs);
    }

    /** A running SparkSubmit JVM. */
    public record Driver(Process process, Path log, long startNs)
    {
        /** Waits for the driver to exit; kills it (and its children) after {@code timeoutMs}. */
        public Submission await(final long timeoutMs) throws IOException, InterruptedException
        {
            final boolean exited = process.waitFor(timeoutMs, TimeUnit.MILLISECONDS);
            final double seconds = (System.nanoTime() - startNs) / 1e9;
            if (!exited)
            {
                kill(process);
            }
            return new Submission(exited ? process.exitValue() : -1, exited, seconds, Files.readString(log));
        }
    }

    /** The result of one {@link #submit}: exit code (-1 if it had to be killed), time, stdout and stderr merged. */
    public record Submission(int exitCode, boolean exited, double seconds, String output)
    {
    }

    /** stderr of every executor the Worker ran, by file. */
    public Map<Path, String> executorLogs() throws IOException
    {
        final Map<Path, String> result = new LinkedHashMap<>();
        try (Stream<Path> files = Files.walk(workDir))
        {
            for (final Path file : files.filter(f -> f.getFileName().toString().equals("stderr")).sorted().toList())
            {
                result.put(file, Files.readString(file));
            }
        }
        return result;
    }

    /** The running executor JVMs (children of the Worker). */
    public List<ProcessHandle> executorProcesses()
    {
        return worker.children().filter(ProcessHandle::isAlive).toList();
    }

    /** The running executor JVM (a child of the Worker) with this executor id. */
    public Optional<ProcessHandle> executorProcess(final String executorId)
    {
        return worker.children().filter(ProcessHandle::isAlive).filter(handle ->
        {
            final List<String> args = List.of(handle.info().arguments().orElse(new String[0]));
            final int at = args.indexOf("--executor-id");
            return at >= 0 && at + 1 < args.size() && args.get(at + 1).equals(executorId);
        }).findFirst();
    }

    private Process launch(final String name, final List<String> heap, final String mainClass,
        final List<String> args) throws IOException
    {
        final List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(heap);
        command.addAll(moduleFlags());
        command.add("-Djava.io.tmpdir=" + root.resolve("tmp"));
        command.add("-cp");
        command.add(sparkHome.resolve("jars") + "/*");
        command.add(mainClass);
        command.addAll(args);
        final ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
            .redirectOutput(logs.resolve(name + ".log").toFile());
        final Map<String, String> env = builder.environment();
        env.put("SPARK_HOME", sparkHome.toString());
        env.put("SPARK_SCALA_VERSION", "2.12");
        env.put("SPARK_LOCAL_IP", HOST);
        env.put("SPARK_LOCAL_DIRS", root.resolve("local").toString());
        env.remove("SPARK_CONF_DIR");
        final Process process = builder.start();
        processes.add(process);
        return process;
    }

    private static void awaitLog(final Process process, final Path log, final String line)
        throws IOException, InterruptedException, TimeoutException
    {
        final long deadlineNs = System.nanoTime() + START_TIMEOUT_MS * 1_000_000L;
        while (!Files.readString(log).contains(line))
        {
            if (!process.isAlive())
            {
                throw new IllegalStateException(log.getFileName() + ": process exited with " + process.exitValue() +
                    " before logging '" + line + "':\n" + tail(log));
            }
            if (System.nanoTime() - deadlineNs >= 0)
            {
                throw new TimeoutException(log.getFileName() + ": no '" + line + "' after " + START_TIMEOUT_MS +
                    " ms:\n" + tail(log));
            }
            Thread.sleep(100);
        }
    }

    private static String tail(final Path log) throws IOException
    {
        final String text = Files.readString(log);
        return text.substring(Math.max(0, text.length() - 4000));
    }

    /** The classpath of the test JVM (surefire passes it in a property when it uses a manifest-only jar). */
    private static String[] testClassPath()
    {
        final String surefire = System.getProperty("surefire.test.class.path");
        return (surefire != null ? surefire : System.getProperty("java.class.path")).split(java.io.File.pathSeparator);
    }

    /** The --add-opens/--add-exports list this JVM runs with (the project's Spark and Aeron flags). */
    static List<String> moduleFlags()
    {
        final List<String> input = ManagementFactory.getRuntimeMXBean().getInputArguments();
        final List<String> flags = new ArrayList<>();
        for (int i = 0; i < input.size(); i++)
        {
            final String arg = input.get(i);
            if ((arg.equals("--add-opens") || arg.equals("--add-exports")) && i + 1 < input.size())
            {
                flags.add(arg + "=" + input.get(++i));
            }
            else if (arg.startsWith("--add-opens=") || arg.startsWith("--add-exports=") ||
                arg.equals("-XX:+IgnoreUnrecognizedVMOptions") || arg.startsWith("-Djdk.reflect.useDirectMethodHandle"))
            {
                flags.add(arg);
            }
        }
        return flags;
    }

    private static int freePort() throws IOException
    {
        try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getByName(HOST)))
        {
            return socket.getLocalPort();
        }
    }

    /** Kills a process and everything it started (a Worker's executors), and waits for them. */
    static void kill(final Process process) throws InterruptedException
    {
        final List<ProcessHandle> all = new ArrayList<>(process.descendants().toList());
        all.add(process.toHandle());
        all.forEach(ProcessHandle::destroyForcibly);
        for (final ProcessHandle handle : all)
        {
            try
            {
                handle.onExit().get(30, TimeUnit.SECONDS);
            }
            catch (final java.util.concurrent.ExecutionException | TimeoutException ex)
            {
                throw new IllegalStateException("process " + handle.pid() + " did not exit after SIGKILL", ex);
            }
        }
    }

    private static Set<Path> paratrainShm()
    {
        if (!Files.isDirectory(SHM))
        {
            return Set.of();
        }
        try (Stream<Path> entries = Files.list(SHM))
        {
            return new HashSet<>(entries.filter(p -> p.getFileName().toString().startsWith("paratrain-")).toList());
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
    }

    @Override
    public void close() throws InterruptedException
    {
        InterruptedException interrupted = null;
        for (int i = processes.size() - 1; i >= 0; i--) // drivers, then the Worker with its executors, the Master
        {
            try
            {
                kill(processes.get(i));
            }
            catch (final InterruptedException ex)
            {
                interrupted = ex;
            }
        }
        // Aeron folders that appeared while the cluster ran and whose media driver is dead (its executor was
        // killed); a live driver (another test's, sharing this machine) keeps its folder.
        final Set<Path> leftOver = paratrainShm();
        leftOver.removeAll(shmBefore);
        for (final Path path : leftOver)
        {
            final boolean lockFile = path.getFileName().toString().endsWith(".lock");
            if (!lockFile && !io.aeron.CommonContext.isDriverActive(path.toFile(), 5_000, message -> { }))
            {
                deleteTree(path);
                deleteTree(path.resolveSibling(path.getFileName() + ".lock"));
            }
        }
        deleteTree(root);
        if (interrupted != null)
        {
            throw interrupted;
        }
    }

    private static void deleteTree(final Path folder)
    {
        if (!Files.exists(folder))
        {
            return;
        }
        try (Stream<Path> paths = Files.walk(folder))
        {
            for (final Path path : paths.sorted(Comparator.reverseOrder()).toList())
            {
                Files.deleteIfExists(path);
            }
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot delete " + folder, ex);
        }
    }
}
