package io.paratrain.modelsplit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Memory: a model whose dense weights plus Adam state (3 floats per parameter) exceed what one JVM may use for
 * ND4J trains with 2 shards in 2 JVMs under the same limit, while {@code MultiLayerNetwork.fit} fails under it.
 * <p>
 * The limit is JavaCPP's {@code maxphysicalbytes} (the process's resident memory, checked whenever ND4J allocates
 * an array; {@code maxbytes} does not see ND4J 1.0.0-M2's data buffers, which libnd4j allocates itself). It is set
 * per JVM to its measured baseline (JVM, pre-touched heap, ND4J loaded) plus a budget of 2.8 P floats, P the
 * parameter count: a single process needs 4 P (values, gradients, Adam's two moments) and a shard of two about 2 P.
 */
@Tag("slow")
@Timeout(600)
class SplitMemoryLimitTest
{
    private static final int WIDTH = 6144;
    private static final int STEPS = 4;
    private static final long PROCESS_DEADLINE_S = 400;

    @TempDir
    Path temp;

    private final List<Process> children = new ArrayList<>();

    @AfterEach
    void cleanUp() throws Exception
    {
        for (final Process child : children)
        {
            child.destroyForcibly();
            assertTrue(child.waitFor(30, TimeUnit.SECONDS), "child process " + child.pid() + " did not exit");
        }
    }

    @Test
    void twoShardsTrainUnderALimitThatStopsTheSingleProcessFit() throws Exception
    {
        final long parameters = MemoryLimitRank.parameters(WIDTH);
        final long baseline = Long.parseLong(value(run("probe", null, List.of("probe")), "BASELINE"));
        final long budget = 28 * parameters * Float.BYTES / 10;
        final long limit = baseline + budget;
        System.out.printf("P=%d parameters (%d MB as float); baseline %d MB; limit %d MB = baseline + %d MB; "
                + "weights + Adam state %d MB%n", parameters, parameters * 4 >> 20, baseline >> 20, limit >> 20,
            budget >> 20, 3 * parameters * 4 >> 20);
        assertTrue(3 * parameters * Float.BYTES > budget, "weights plus updater state must exceed the budget");

        final List<String> single = run("single", limit, List.of("single", Integer.toString(WIDTH),
            Integer.toString(STEPS)));
        final String failure = value(single, "OUT_OF_MEMORY");
        System.out.println("single-process fit under the limit: " + failure);
        assertTrue(failure.contains("maxPhysicalBytes"), failure);

        final Path rendezvous = temp.resolve("rendezvous");
        final String session = Long.toString(ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE));
        final List<Process> shards = new ArrayList<>();
        for (int rank = 0; rank < 2; rank++)
        {
            shards.add(start("shard-" + rank, limit, List.of("shard", Integer.toString(WIDTH),
                Integer.toString(STEPS), rendezvous.toString(), session, Integer.toString(rank), "2")));
        }
        long held = 0;
        for (int rank = 0; rank < 2; rank++)
        {
            final List<String> output = finish("shard-" + rank, shards.get(rank));
            final long mine = Long.parseLong(value(output, "HELD"));
            final long physical = Long.parseLong(value(output, "PHYSICAL"));
            System.out.printf("shard %d: holds %d MB of weights and Adam state, physical %d MB at the end%n", rank,
                mine * 4 >> 20, physical >> 20);
            assertTrue(physical <= limit, "shard " + rank + " physical " + physical + " > limit " + limit);
            held += mine;
            if (rank == 0)
            {
                final String[] loss = value(output, "LOSS").split(" ");
                System.out.printf("rank 0 loss: first step %s, last step %s%n", loss[0], loss[1]);
                assertTrue(Double.parseDouble(loss[1]) < Double.parseDouble(loss[0]), "the loss did not fall");
            }
        }
        assertEquals(3 * parameters, held, "the shards together hold each weight and its 2 Adam moments once");
    }

    private List<String> run(final String name, final Long limit, final List<String> args) throws Exception
    {
        return finish(name, start(name, limit, args));
    }

    private Process start(final String name, final Long limit, final List<String> args) throws IOException
    {
        final List<String> command = new ArrayList<>(List.of(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED",
            "-Xms256m", "-Xmx256m", "-XX:+AlwaysPreTouch"));
        if (limit != null)
        {
            command.add("-Dorg.bytedeco.javacpp.maxphysicalbytes=" + limit);
        }
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), MemoryLimitRank.class.getName()));
        command.addAll(args);
        // In the temp folder: DL4J writes a memory crash dump into the working directory when it runs out.
        final ProcessBuilder builder = new ProcessBuilder(command).directory(temp.toFile()).redirectErrorStream(true)
            .redirectOutput(temp.resolve(name + ".log").toFile());
        builder.environment().put("OMP_NUM_THREADS", "1");
        final Process process = builder.start();
        children.add(process);
        return process;
    }

    private List<String> finish(final String name, final Process process) throws Exception
    {
        final Path log = temp.resolve(name + ".log");
        if (!process.waitFor(PROCESS_DEADLINE_S, TimeUnit.SECONDS))
        {
            fail(name + " did not finish in " + PROCESS_DEADLINE_S + " s:\n" + Files.readString(log));
        }
        final List<String> lines = Files.readAllLines(log);
        assertEquals(0, process.exitValue(), () -> name + " failed:\n" + String.join("\n", lines));
        return lines;
    }

    private static String value(final List<String> lines, final String key)
    {
        for (final String line : lines)
        {
            if (line.startsWith(key + " "))
            {
                return line.substring(key.length() + 1);
            }
        }
        throw new AssertionError("no " + key + " line in:\n" + String.join("\n", lines));
    }
}
