package io.paratrain.notebooks;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;

/**
 * The kernelspec of the notebooks' Java kernel (the same one bin/setup-notebooks installs): the rapaio kernel jar
 * run with Spark's and Aeron's JVM flags, the project's classpath in RJK_CLASSPATH (the kernel splits it at ';').
 */
final class KernelSpec
{
    private KernelSpec()
    {
    }

    static String json(final Path kernelJar, final String classpath, final String jvmFlags, final Path log4jConfig)
    {
        final List<String> argv = new ArrayList<>();
        argv.add("java");
        argv.addAll(Arrays.stream(jvmFlags.trim().split("\\s+")).filter(f -> !f.isEmpty()).toList());
        argv.add("-Xmx3g");
        argv.add("-Dlog4j2.configurationFile=" + log4jConfig);
        argv.add("-jar");
        argv.add(kernelJar.toString());
        argv.add("{connection_file}");
        return "{\n" +
            " \"argv\": [" + argv.stream().map(KernelSpec::quote).collect(Collectors.joining(", ")) + "],\n" +
            " \"display_name\": \"Java (Paratrain)\",\n" +
            " \"language\": \"java\",\n" +
            " \"interrupt_mode\": \"message\",\n" +
            " \"env\": {\"RJK_CLASSPATH\": " + quote(classpath.replace(':', ';')) + ", \"SPARK_LOCAL_IP\": \"127.0.0.1\"}\n" +
            "}\n";
    }

    private static String quote(final String text)
    {
        return "\"" + text.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }
}
