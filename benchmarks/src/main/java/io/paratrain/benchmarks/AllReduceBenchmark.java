package io.paratrain.benchmarks;

import io.paratrain.gradientsharing.Transport;
import org.agrona.concurrent.UnsafeBuffer;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * {@code bin/bench-allreduce}: ring all-reduce between rank JVMs on this host, over UDP and over the default
 * same-host transport (IPC through a shared media driver), for several buffer sizes, next to this machine's
 * single-thread memcpy bandwidth measured in the same run.
 * <p>
 * busbw = 2(N-1)/N x bytes / seconds per all-reduce (NCCL's bus bandwidth: what each link carries), with the
 * median over rounds of the slowest rank's time (this 2-core machine is shared; the median ignores the rounds in
 * which something else took a core).
 * The last line is, for the default transport and the largest size,
 * {@code allreduce ranks=N bytes=B busbw_GBps=x memcpy_GBps=y ratio=x/y}.
 */
public final class AllReduceBenchmark
{
    private static final long RANK_DEADLINE_MS = TimeUnit.MINUTES.toMillis(15);

    private AllReduceBenchmark()
    {
    }

    public static void main(final String[] args) throws Exception
    {
        final Options options = Options.parse(args);
        final double memcpyBefore = Memcpy.gigabytesPerSecond(256L << 20);
        System.out.printf("memcpy bytes=%d GBps=%.2f (single thread, before the ranks)%n", 256L << 20, memcpyBefore);
        final Map<Transport, Map<Long, Double>> secondsPerOp = new LinkedHashMap<>();
        for (final Transport transport : List.of(Transport.UDP, Transport.AUTO))
        {
            System.err.printf("running %d ranks over %s ...%n", options.ranks, name(transport));
            final Map<Long, Double> results = runRanks(options, transport);
            secondsPerOp.put(transport, results);
            for (final Map.Entry<Long, Double> result : results.entrySet())
            {
                System.out.printf("allreduce transport=%s ranks=%d bytes=%d median_time_ms=%.2f busbw_GBps=%.3f%n",
                    name(transport), options.ranks, result.getKey(), result.getValue() * 1e3,
                    busBandwidth(options.ranks, result.getKey(), result.getValue()));
            }
        }
        final double memcpyAfter = Memcpy.gigabytesPerSecond(256L << 20);
        final double memcpy = Math.max(memcpyBefore, memcpyAfter);
        System.out.printf("memcpy bytes=%d GBps=%.2f (single thread, after the ranks; the larger is used)%n",
            256L << 20, memcpyAfter);
        final long largest = options.sizes[options.sizes.length - 1];
        final double busbw = busBandwidth(options.ranks, largest, secondsPerOp.get(Transport.AUTO).get(largest));
        System.out.printf("allreduce ranks=%d bytes=%d busbw_GBps=%.3f memcpy_GBps=%.3f ratio=%.3f%n",
            options.ranks, largest, busbw, memcpy, busbw / memcpy);
    }

    /** A round ends when its slowest rank is done. */
    private static double[] maxEach(final double[] a, final double[] b)
    {
        final double[] max = new double[a.length];
        for (int i = 0; i < a.length; i++)
        {
            max[i] = Math.max(a[i], b[i]);
        }
        return max;
    }

    private static double median(final double[] values)
    {
        final double[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }

    static double busBandwidth(final int ranks, final long bytes, final double seconds)
    {
        return 2.0 * (ranks - 1) / ranks * bytes / seconds / 1e9;
    }

    private static String name(final Transport transport)
    {
        return transport == Transport.AUTO ? "same-host-default(ipc)" : "udp";
    }

    /** Runs every size in one set of rank JVMs; returns the slowest rank's seconds per all-reduce, by size. */
    private static Map<Long, Double> runRanks(final Options options, final Transport transport) throws Exception
    {
        final Path work = Files.createTempDirectory("paratrain-bench-allreduce");
        final long session = ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE);
        final List<Process> processes = new ArrayList<>();
        try
        {
            for (int rank = 0; rank < options.ranks; rank++)
            {
                processes.add(startRank(work, session, rank, options, transport));
            }
            final Map<Long, double[]> slowestPerRound = new LinkedHashMap<>();
            for (int rank = 0; rank < options.ranks; rank++)
            {
                final Process process = processes.get(rank);
                if (!process.waitFor(RANK_DEADLINE_MS, TimeUnit.MILLISECONDS))
                {
                    throw new IllegalStateException("rank " + rank + " did not finish in " + RANK_DEADLINE_MS +
                        " ms; its output:\n" + Files.readString(work.resolve("rank-" + rank + ".log")));
                }
                final List<String> lines = Files.readAllLines(work.resolve("rank-" + rank + ".log"));
                if (process.exitValue() != 0)
                {
                    throw new IllegalStateException("rank " + rank + " exited with " + process.exitValue() +
                        ":\n" + String.join("\n", lines));
                }
                for (final String line : lines)
                {
                    if (line.startsWith("ROUNDS "))
                    {
                        final String[] fields = line.split(" ");
                        final double[] seconds = Arrays.stream(fields).skip(2).mapToDouble(Double::parseDouble)
                            .toArray();
                        slowestPerRound.merge(Long.parseLong(fields[1]), seconds, AllReduceBenchmark::maxEach);
                    }
                }
            }
            final Map<Long, Double> medians = new LinkedHashMap<>();
            slowestPerRound.forEach((bytes, seconds) -> medians.put(bytes, median(seconds)));
            return medians;
        }
        finally
        {
            for (final Process process : processes)
            {
                process.destroyForcibly();
                process.waitFor(10, TimeUnit.SECONDS);
            }
            Folders.deleteTree(work);
        }
    }

    private static Process startRank(final Path work, final long session, final int rank, final Options options,
        final Transport transport) throws IOException
    {
        final List<String> command = new ArrayList<>(List.of(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED",
            "-Dagrona.disable.bounds.checks=true",
            "-Dparatrain.bench.termBytes=" + options.termBytes, "-Dparatrain.bench.mtuBytes=" + options.mtuBytes,
            "-Xmx1g", "-XX:MaxDirectMemorySize=" + (4 * options.sizes[options.sizes.length - 1] + (256L << 20)),
            "-cp", System.getProperty("java.class.path"),
            AllReduceRank.class.getName(),
            work.resolve("rendezvous").toString(), Long.toString(session), Integer.toString(rank),
            Integer.toString(options.ranks), transport.name(), Integer.toString(options.warmup)));
        for (final long size : options.sizes)
        {
            command.add(Long.toString(size));
        }
        return new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(work.resolve("rank-" + rank + ".log").toFile())
            .start();
    }

    /** Single-thread copy between two direct buffers, best of several rounds after a warm-up. */
    static final class Memcpy
    {
        static double gigabytesPerSecond(final long bytes)
        {
            final ByteBuffer from = ByteBuffer.allocateDirect((int)bytes);
            final ByteBuffer to = ByteBuffer.allocateDirect((int)bytes);
            final UnsafeBuffer source = new UnsafeBuffer(from);
            final UnsafeBuffer target = new UnsafeBuffer(to);
            source.setMemory(0, (int)bytes, (byte)1);
            target.setMemory(0, (int)bytes, (byte)2);
            double best = 0;
            for (int round = 0; round < 7; round++)
            {
                final long startNs = System.nanoTime();
                target.putBytes(0, source, 0, (int)bytes);
                final double seconds = (System.nanoTime() - startNs) / 1e9;
                if (round >= 2)
                {
                    best = Math.max(best, bytes / seconds / 1e9);
                }
            }
            return best;
        }
    }

    record Options(int ranks, long[] sizes, int warmup, int termBytes, int mtuBytes)
    {
        Options
        {
            if (ranks < 2 || ranks > 16)
            {
                throw new IllegalArgumentException("--ranks " + ranks + ": expected 2..16");
            }
            if (sizes.length == 0 || Arrays.stream(sizes).anyMatch(s -> s < 4 || s % 4 != 0 || s > (1L << 30)))
            {
                throw new IllegalArgumentException("--sizes-mb " + Arrays.toString(sizes) +
                    ": expected sizes of 1..1024 MB");
            }
        }

        static Options parse(final String[] args)
        {
            int ranks = 2;
            long[] sizes = {4L << 20, 64L << 20, 256L << 20};
            int warmup = 5;
            int termBytes = io.paratrain.gradientsharing.CollectiveConfig.DEFAULT_TERM_BUFFER_BYTES;
            int mtuBytes = io.paratrain.gradientsharing.CollectiveConfig.DEFAULT_MTU_BYTES;
            for (int i = 0; i < args.length; i++)
            {
                switch (args[i])
                {
                    case "--ranks" -> ranks = Integer.parseInt(args[++i]);
                    case "--sizes-mb" -> sizes = Arrays.stream(args[++i].split(","))
                        .mapToLong(mb -> Long.parseLong(mb.trim()) << 20).sorted().toArray();
                    case "--warmup" -> warmup = Integer.parseInt(args[++i]);
                    case "--term-mb" -> termBytes = Integer.parseInt(args[++i]) << 20;
                    case "--mtu" -> mtuBytes = Integer.parseInt(args[++i]);
                    case "--help", "-h" ->
                    {
                        System.out.println("""
                            usage: bin/bench-allreduce [--ranks N] [--sizes-mb 4,64,256] [--warmup K] [--term-mb 16] [--mtu 65504]
                              Runs N rank JVMs on this host (default 2) over UDP and over the default same-host
                              transport (IPC), times a ring all-reduce (SUM) of each size, and measures this
                              machine's single-thread memcpy bandwidth in the same run.""");
                        System.exit(0);
                    }
                    default -> throw new IllegalArgumentException("unknown option " + args[i] + " (try --help)");
                }
            }
            return new Options(ranks, sizes, warmup, termBytes, mtuBytes);
        }
    }
}
