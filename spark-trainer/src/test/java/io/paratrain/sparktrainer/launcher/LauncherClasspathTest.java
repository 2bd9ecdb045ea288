package io.paratrain.sparktrainer.launcher;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * bin/lib.sh's {@code paratrain_classpath}, which bin/paratrain and the benches call before each run: it builds the
 * module when a source is newer than the classpath file it wrote, and only then. Maven is replaced by a script that
 * counts its runs and, as maven-dependency-plugin does, leaves an unchanged classpath file as it was.
 */
@Timeout(60)
class LauncherClasspathTest
{
    private static final Path LIB = Path.of("..", "bin", "lib.sh").toAbsolutePath().normalize();

    @TempDir
    Path root;

    @Test
    void aSourceEditRebuildsOnceNotOnEveryLaterRun() throws Exception
    {
        Files.createDirectories(root.resolve("bin"));
        Files.copy(LIB, root.resolve("bin/lib.sh"));
        Files.createDirectories(root.resolve("mod/src/main"));
        final Path source = Files.writeString(root.resolve("mod/src/main/A.java"), "class A {}");
        Files.writeString(root.resolve("pom.xml"), "<project/>");
        final Path tools = Files.createDirectories(root.resolve("tools"));
        final Path runs = root.resolve("mvn-runs");
        final Path mvn = Files.writeString(tools.resolve("mvn"), String.join("\n",
            "#!/usr/bin/env bash",
            "echo run >> '" + runs + "'",
            "mkdir -p mod/target",
            "[ -f mod/target/classpath-runtime.txt ] || echo /deps.jar > mod/target/classpath-runtime.txt", ""));
        Files.setPosixFilePermissions(mvn, PosixFilePermissions.fromString("rwxr-xr-x"));

        assertEquals(root.resolve("mod/target/classes") + ":/deps.jar", classpath(tools));
        assertEquals(1, builds(runs), "the first run builds");
        assertEquals(root.resolve("mod/target/classes") + ":/deps.jar", classpath(tools));
        assertEquals(1, builds(runs), "nothing changed: no build");

        // the classpath file written a minute ago, an edit (a pull, a checkout) since
        Files.setLastModifiedTime(root.resolve("mod/target/classpath-runtime.txt"),
            FileTime.from(Instant.now().minusSeconds(60)));
        Files.setLastModifiedTime(source, FileTime.from(Instant.now().minusSeconds(30)));
        classpath(tools);
        assertEquals(2, builds(runs), "the edit rebuilds");
        classpath(tools);
        classpath(tools);
        assertEquals(2, builds(runs), "once: the runs after it do not build again");
    }

    private String classpath(final Path tools) throws IOException, InterruptedException
    {
        final ProcessBuilder builder = new ProcessBuilder("bash", "-c", "source bin/lib.sh && paratrain_classpath mod")
            .directory(root.toFile()).redirectError(ProcessBuilder.Redirect.DISCARD);
        builder.environment().put("PATH", tools + ":" + System.getenv("PATH"));
        final Process process = builder.start();
        final String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertTrue(process.waitFor(30, TimeUnit.SECONDS), "paratrain_classpath did not end within 30 s");
        assertEquals(0, process.exitValue(), out);
        return out;
    }

    private static long builds(final Path runs) throws IOException
    {
        return Files.exists(runs) ? Files.readAllLines(runs).size() : 0;
    }
}
