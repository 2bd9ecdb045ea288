package io.paratrain.sparktrainer;

import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Test support: a child JVM with this test JVM's java, classpath and Java 17 flags (the --add-opens/--add-exports
 * that Spark, ND4J and Aeron need), its output (stdout and stderr) in a log file. Registered as an extension
 * ({@code @RegisterExtension final ChildJvm child = new ChildJvm();}) it kills the child after each test that left
 * it running.
 */
public final class ChildJvm implements AfterEachCallback
{
    private static final long DESTROY_WAIT_MS = 30_000;

    private Process process;

    /** Starts {@code main} with {@code jvmOptions} and {@code args}; the last child started is the one cleaned up. */
    public Process start(final List<String> jvmOptions, final Class<?> main, final List<String> args, final Path log)
        throws IOException
    {
        process = new ProcessBuilder(command(jvmOptions, main, args)).redirectErrorStream(true)
            .redirectOutput(log.toFile()).start();
        return process;
    }

    /** The last child started. */
    public Process process()
    {
        if (process == null)
        {
            throw new IllegalStateException("no child JVM started");
        }
        return process;
    }

    /** Kills the child if it still runs and waits for its end. */
    public void destroy() throws InterruptedException
    {
        if (process != null && process.isAlive())
        {
            process.destroyForcibly();
            process.waitFor(DESTROY_WAIT_MS, TimeUnit.MILLISECONDS);
        }
    }

    @Override
    public void afterEach(final ExtensionContext context) throws InterruptedException
    {
        destroy();
    }

    private static List<String> command(final List<String> jvmOptions, final Class<?> main, final List<String> args)
    {
        final List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        for (final String flag : ManagementFactory.getRuntimeMXBean().getInputArguments())
        {
            if (flag.startsWith("--add-opens") || flag.startsWith("--add-exports") ||
                flag.equals("-XX:+IgnoreUnrecognizedVMOptions") || flag.startsWith("-Djdk.reflect."))
            {
                command.add(flag);
            }
        }
        command.addAll(jvmOptions);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), main.getName()));
        command.addAll(args);
        return command;
    }
}
