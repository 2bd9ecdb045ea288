package io.paratrain.notebooks;

import org.nd4j.shade.jackson.databind.JsonNode;
import org.nd4j.shade.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Executes a notebook headlessly with Debian's nbconvert and a kernelspec of its own (in a temporary JUPYTER_PATH),
 * so the run uses this build's classes and leaves nothing in the user's Jupyter folders.
 */
final class NotebookRunner
{
    static final String SETUP_COMMAND = "bin/setup-notebooks";
    static final String KERNEL_NAME = "paratrain-java";
    /** Debian's Python: a pyenv or venv python3 earlier on PATH would not have the Debian Jupyter modules. */
    private static final String PYTHON = "/usr/bin/python3";
    private static final long NOTEBOOK_TIMEOUT_S = 1200;
    private static final int KERNEL_START_TIMEOUT_S = 120;

    private final Path notebooks;
    private final Path home;

    private NotebookRunner(final Path notebooks, final Path home)
    {
        this.notebooks = notebooks;
        this.home = home;
    }

    /** Checks that Jupyter is installed and writes the kernelspec; fails naming the setup command if it is not. */
    static NotebookRunner create(final Path home) throws IOException, InterruptedException
    {
        final Path python = Path.of(PYTHON);
        if (!Files.isExecutable(python) || run(List.of(PYTHON, "-c", "import nbconvert, nbclient, jupyter_client"),
            Map.of(), home.resolve("check.log"), 60) != 0)
        {
            throw new AssertionError("Jupyter is missing: " + PYTHON + " cannot import nbconvert, nbclient and " +
                "jupyter_client. Run " + SETUP_COMMAND + " (it installs the Debian packages jupyter-client, " +
                "jupyter-core, python3-nbclient and python3-nbconvert), or bin/test, which runs it when needed.");
        }
        final Path notebooks = Path.of(System.getProperty("paratrain.notebooks.dir"));
        final Path kernelDir = Path.of(System.getProperty("paratrain.kernel.dir"));
        final Path spec = home.resolve("jupyter/kernels/" + KERNEL_NAME + "/kernel.json");
        Files.createDirectories(spec.getParent());
        Files.writeString(spec, KernelSpec.json(kernelDir.resolve("rapaio-jupyter-kernel.jar"),
            Files.readString(kernelDir.resolve("classpath.txt")).trim(),
            System.getProperty("paratrain.kernel.jvmFlags"),
            notebooks.getParent().resolve("conf/log4j2-notebooks.properties")));
        Files.createDirectories(home.resolve("runtime"));
        Files.createDirectories(home.resolve("out"));
        return new NotebookRunner(notebooks, home);
    }

    /**
     * Executes {@code name} and returns the executed notebook. A kernel that does not answer its start within
     * {@value #KERNEL_START_TIMEOUT_S} s is retried once (seen under heavy load); any other failure fails at once.
     */
    JsonNode execute(final String name) throws IOException, InterruptedException
    {
        final List<String> command = new ArrayList<>(Arrays.asList(PYTHON, "-m", "nbconvert", "--to", "notebook",
            "--execute", "--ExecutePreprocessor.timeout=" + NOTEBOOK_TIMEOUT_S,
            "--ExecutePreprocessor.startup_timeout=" + KERNEL_START_TIMEOUT_S,
            "--output-dir", home.resolve("out").toString(), notebooks.resolve(name).toString()));
        final Map<String, String> env = Map.of(
            "JUPYTER_PATH", home.resolve("jupyter").toString(),
            "JUPYTER_RUNTIME_DIR", home.resolve("runtime").toString(),
            "JUPYTER_CONFIG_DIR", home.resolve("config").toString());
        final Path log = home.resolve(name + ".log");
        int code = run(command, env, log, NOTEBOOK_TIMEOUT_S + 300);
        if (code != 0 && kernelDidNotStart(log))
        {
            System.err.println("kernel for " + name + " did not start in " + KERNEL_START_TIMEOUT_S + " s; retrying " +
                "once. First attempt:\n" + Files.readString(log));
            code = run(command, env, log, NOTEBOOK_TIMEOUT_S + 300);
        }
        if (code != 0)
        {
            throw new AssertionError("executing " + name + " failed (exit " + code + "):\n" + tail(log));
        }
        return new ObjectMapper().readTree(home.resolve("out").resolve(name).toFile());
    }

    private static boolean kernelDidNotStart(final Path log) throws IOException
    {
        final String text = Files.readString(log);
        return text.contains("Kernel didn't respond") || text.contains("kernel died before replying");
    }

    private static String tail(final Path log) throws IOException
    {
        final String text = Files.readString(log);
        return text.length() > 6000 ? text.substring(text.length() - 6000) : text;
    }

    /** Runs {@code command} with its output in {@code log}; kills it and everything it started after the deadline. */
    private static int run(final List<String> command, final Map<String, String> env, final Path log,
        final long timeoutS) throws IOException, InterruptedException
    {
        final ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
            .redirectOutput(log.toFile());
        builder.environment().putAll(env);
        final Process process = builder.start();
        if (!process.waitFor(timeoutS, TimeUnit.SECONDS))
        {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            throw new AssertionError(String.join(" ", command) + " did not finish in " + timeoutS + " s:\n" +
                tail(log));
        }
        return process.exitValue();
    }

    /** All text a cell printed (stdout and stderr streams and text results), in order. */
    static String text(final JsonNode cell)
    {
        final StringBuilder text = new StringBuilder();
        for (final JsonNode output : cell.path("outputs"))
        {
            output.path("text").forEach(line -> text.append(line.asText()));
            if (output.path("text").isTextual())
            {
                text.append(output.path("text").asText());
            }
        }
        return text.toString();
    }

    /** The base64 PNGs a cell displayed. */
    static List<byte[]> images(final JsonNode cell)
    {
        final List<byte[]> images = new ArrayList<>();
        for (final JsonNode output : cell.path("outputs"))
        {
            final JsonNode png = output.path("data").path("image/png");
            if (!png.isMissingNode())
            {
                final String base64 = png.isArray() ? String.join("", toStrings(png)) : png.asText();
                images.add(java.util.Base64.getMimeDecoder().decode(base64.getBytes(StandardCharsets.US_ASCII)));
            }
        }
        return images;
    }

    private static List<String> toStrings(final JsonNode array)
    {
        final List<String> strings = new ArrayList<>();
        array.forEach(node -> strings.add(node.asText()));
        return strings;
    }
}
