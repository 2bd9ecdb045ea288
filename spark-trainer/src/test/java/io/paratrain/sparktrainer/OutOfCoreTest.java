package io.paratrain.sparktrainer;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Out-of-core training: a child JVM whose heap and physical memory are limited trains with {@code fitPaths} on
 * exported files several times larger than it may hold. Holding the minibatches fails (out of memory); spilling them
 * to the local dir trains, and on a smaller set spilling gives the held path's model bit for bit in that same JVM.
 */
@Tag("slow")
@Timeout(600)
class OutOfCoreTest
{
    /** The child's heap (-Xmx) and JavaCPP's limit on its whole resident memory (maxphysicalbytes). */
    private static final String HEAP = "256m";
    private static final long MAX_PHYSICAL_BYTES = 512L << 20;
    /** Examples per exported file: 4 MB of features each. */
    private static final int FILE_EXAMPLES = 1024;
    /** The large set: distinct contents, hard-linked (or copied) to this many files, 1 GB. */
    private static final int DISTINCT_FILES = 8;
    private static final int LARGE_FILES = 256;
    private static final int SMALL_FILES = 6;
    /** About 100 s (spilling) and 60 s (holding) on a quiet 2-core machine; generous, the machine is shared. */
    private static final long CHILD_DEADLINE_MS = 240_000;

    @RegisterExtension
    final ChildJvm child = new ChildJvm();

    @Test
    void aJvmTrainsOnDataSeveralTimesLargerThanItMayHoldBySpilling(@TempDir final Path dir) throws Exception
    {
        final Path small = Files.createDirectory(dir.resolve("small"));
        final Path large = Files.createDirectory(dir.resolve("large"));
        final long startNs = System.nanoTime();
        final long smallBytes = export(small, SMALL_FILES, SMALL_FILES);
        final long largeBytes = export(large, DISTINCT_FILES, LARGE_FILES);
        System.out.printf("Exported %d MB (small) and %d MB (large, %d files) in %.1f s; the child may hold %s of " +
            "heap and %d MB in all%n", smallBytes >> 20, largeBytes >> 20, LARGE_FILES,
            (System.nanoTime() - startNs) / 1e9, HEAP, MAX_PHYSICAL_BYTES >> 20);
        assertTrue(largeBytes > 2 * MAX_PHYSICAL_BYTES, "the large set must be several times the child's limit");

        final Path spilledSmall = dir.resolve("spilled-small.bits");
        final Path heldSmall = dir.resolve("held-small.bits");
        final Path spilledLarge = dir.resolve("spilled-large.bits");
        final String spilling = runChild(dir, "spilling", String.valueOf(TrainerConfig.SPILL_ALWAYS),
            small.toString(), spilledSmall.toString(), String.valueOf(TrainerConfig.SPILL_NEVER), small.toString(),
            heldSmall.toString(), String.valueOf(TrainerConfig.SPILL_DERIVED), large.toString(),
            spilledLarge.toString());
        assertEquals(0, child.process().exitValue(), "the spilling child's exit code; its output:\n" + tail(spilling));
        final byte[] initial = rawBits(OutOfCoreProgram.network().params().dup('c').data().asFloat());
        assertArrayEquals(Files.readAllBytes(heldSmall), Files.readAllBytes(spilledSmall),
            "raw bits of the small set's models, spilled against held");
        assertFalse(Arrays.equals(initial, Files.readAllBytes(spilledSmall)), "training moved the parameters");
        assertNotEquals(0, Files.size(spilledLarge));

        final String holding = runChild(dir, "holding", String.valueOf(TrainerConfig.SPILL_NEVER), large.toString(),
            dir.resolve("held-large.bits").toString());
        assertNotEquals(0, child.process().exitValue(), "holding the large set must fail; output:\n" + tail(holding));
        assertTrue(holding.contains("OutOfMemoryError") || holding.contains("maxPhysicalBytes") ||
            holding.contains("Physical memory usage is too high"),
            "the holding child failed for want of memory; its output:\n" + tail(holding));
        System.out.println("Holding the large set failed with: " + firstLine(holding, "OutOfMemoryError",
            "Physical memory usage"));
    }

    /** {@code files} files of {@link #FILE_EXAMPLES} random examples, {@code distinct} of them distinct. */
    private static long export(final Path folder, final int distinct, final int files) throws IOException
    {
        final int features = OutOfCoreProgram.FEATURES;
        final List<Path> originals = new ArrayList<>();
        long bytes = 0;
        for (int i = 0; i < files; i++)
        {
            final Path file = folder.resolve(String.format("batch-%05d.bin", i));
            if (i < distinct)
            {
                Nd4j.getRandom().setSeed(1_000 + i);
                final INDArray x = Nd4j.rand(DataType.FLOAT, FILE_EXAMPLES, features);
                final INDArray y = Nd4j.zeros(DataType.FLOAT, FILE_EXAMPLES, OutOfCoreProgram.CLASSES);
                for (int row = 0; row < FILE_EXAMPLES; row++)
                {
                    // a learnable class: which quarter of the features has the largest first element
                    int label = 0;
                    for (int c = 1; c < OutOfCoreProgram.CLASSES; c++)
                    {
                        label = x.getFloat(row, c * features / 4) > x.getFloat(row, label * features / 4) ? c : label;
                    }
                    y.putScalar(row, label, 1f);
                }
                new DataSet(x, y).save(file.toFile());
                originals.add(file);
            }
            else
            {
                linkOrCopy(originals.get(i % distinct), file);
            }
            bytes += Files.size(file);
        }
        return bytes;
    }

    private static void linkOrCopy(final Path original, final Path file) throws IOException
    {
        try
        {
            Files.createLink(file, original); // no disk space and no time: the child reads each path as a file
        }
        catch (final UnsupportedOperationException | IOException ex)
        {
            Files.copy(original, file);
        }
    }

    /** Runs the child to its end (or fails at the deadline) and returns its output. */
    private String runChild(final Path dir, final String name, final String... args) throws Exception
    {
        final Path log = dir.resolve(name + ".log");
        final long startNs = System.nanoTime();
        final Process process = child.start(List.of("-Xmx" + HEAP, "-Dorg.bytedeco.javacpp.maxphysicalbytes=" +
            MAX_PHYSICAL_BYTES, "-Djava.io.tmpdir=" + dir), OutOfCoreProgram.class, List.of(args), log);
        if (!process.waitFor(CHILD_DEADLINE_MS, TimeUnit.MILLISECONDS))
        {
            child.destroy();
            Files.copy(log, Path.of("target", "out-of-core-" + name + ".log"), StandardCopyOption.REPLACE_EXISTING);
            fail("the " + name + " child did not end within " + CHILD_DEADLINE_MS + " ms; its output:\n" +
                tail(Files.readString(log)));
        }
        final String output = Files.readString(log);
        // kept beside the surefire reports: the temp dir goes with the test
        Files.copy(log, Path.of("target", "out-of-core-" + name + ".log"), StandardCopyOption.REPLACE_EXISTING);
        System.out.printf("The %s child ended with exit code %d after %.1f s%n", name, process.exitValue(),
            (System.nanoTime() - startNs) / 1e9);
        output.lines().filter(line -> line.contains(OutOfCoreProgram.FIT) || line.contains("spill file") ||
            line.contains("spilling them")).forEach(line -> System.out.println("  " + line));
        return output;
    }

    private static byte[] rawBits(final float[] values)
    {
        final java.nio.ByteBuffer bytes = java.nio.ByteBuffer.allocate(values.length * Float.BYTES);
        for (final float value : values)
        {
            bytes.putInt(Float.floatToRawIntBits(value));
        }
        return bytes.array();
    }

    private static String firstLine(final String output, final String... needles)
    {
        return output.lines().filter(line -> Arrays.stream(needles).anyMatch(line::contains)).findFirst()
            .orElse("(no such line)");
    }

    private static String tail(final String output)
    {
        final List<String> lines = output.lines().toList();
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 60), lines.size()));
    }
}
