package io.paratrain.gradientsharing;

import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;

/**
 * A rank in a JVM of its own, for multi-process tests. Arguments:
 * {@code rendezvousDir driverBaseDir sessionId rank worldSize transport mode iterations length [hmacHex]}.
 * Mode {@code verify} runs {@code iterations} exact all-reduce sums and exits 0 when all were right;
 * mode {@code loop} reduces until it is killed. Prints {@code ITERATION n} after each operation.
 */
public final class RankProcess
{
    private RankProcess()
    {
    }

    public static void main(final String[] args)
    {
        final Path rendezvousDir = Path.of(args[0]);
        final CollectiveConfig.Builder builder = CollectiveConfig.builder(Long.parseLong(args[2]))
            .driverBaseDir(Path.of(args[1]))
            .transport(Transport.valueOf(args[5]))
            .timeoutMs(5_000)
            .termBufferBytes(4 * 1024 * 1024);
        if (args.length > 9)
        {
            builder.hmacSecret(HexFormat.of().parseHex(args[9]));
        }
        final int rank = Integer.parseInt(args[3]);
        final int worldSize = Integer.parseInt(args[4]);
        final String mode = args[6];
        final int iterations = Integer.parseInt(args[7]);
        final int length = Integer.parseInt(args[8]);
        try (Collective collective = connect(builder.build(), rendezvousDir, rank, worldSize))
        {
            for (int i = 0; "loop".equals(mode) || i < iterations; i++)
            {
                final float[] data = AllReduceTest.exactValues(length, rank + i);
                collective.allReduce(data, ReduceOp.SUM);
                final float[] expected = expectedSum(length, worldSize, i);
                for (int e = 0; e < length; e++)
                {
                    if (data[e] != expected[e])
                    {
                        System.out.println("MISMATCH iteration " + i + " element " + e + ": " + data[e] + " != " +
                            expected[e]);
                        System.exit(2);
                    }
                }
                System.out.println("ITERATION " + i);
            }
            System.out.println("DONE " + collective.stats());
        }
        catch (final RuntimeException ex)
        {
            System.out.println("FAILED " + ex);
            ex.printStackTrace(System.out);
            System.exit(1);
        }
        System.exit(0);
    }

    static Collective connect(final CollectiveConfig config, final Path rendezvousDir, final int rank,
        final int worldSize)
    {
        final RingRendezvous rendezvous = RingRendezvous.bind(config, rank, worldSize);
        try
        {
            final List<Endpoint> endpoints = FileRendezvous.exchange(rendezvousDir, rank, worldSize,
                rendezvous.endpoint(), config.timeoutMs());
            return rendezvous.connect(endpoints);
        }
        finally
        {
            rendezvous.close();
        }
    }

    /** Sum over ranks of {@code exactValues(length, rank + iteration)}: exact in float32. */
    static float[] expectedSum(final int length, final int worldSize, final int iteration)
    {
        final float[] expected = new float[length];
        for (int r = 0; r < worldSize; r++)
        {
            final float[] values = AllReduceTest.exactValues(length, r + iteration);
            for (int e = 0; e < length; e++)
            {
                expected[e] += values[e];
            }
        }
        return expected;
    }
}
