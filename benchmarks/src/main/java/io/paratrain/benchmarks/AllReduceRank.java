package io.paratrain.benchmarks;

import io.paratrain.gradientsharing.Collective;
import io.paratrain.gradientsharing.CollectiveConfig;
import io.paratrain.gradientsharing.FileRendezvous;
import io.paratrain.gradientsharing.ReduceOp;
import io.paratrain.gradientsharing.RingRendezvous;
import io.paratrain.gradientsharing.Transport;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;

/**
 * One rank of {@link AllReduceBenchmark}, in a JVM of its own. Arguments:
 * {@code rendezvousDir sessionId rank worldSize transport warmup size...}. For each size it warms up, then times
 * enough all-reduces (SUM) to move about 4 GB (10..100 rounds, each started together after a barrier), checks
 * exact results in one more round, and prints {@code ROUNDS bytes seconds...}, one time per round.
 */
public final class AllReduceRank
{
    private static final long TARGET_BYTES_PER_SIZE = 4L << 30;
    private static final int MIN_ROUNDS = 10;
    private static final int MAX_ROUNDS = 100;

    private AllReduceRank()
    {
    }

    /** Every rank contributes (e % 1000) + rank; the sum must be exactly N(e % 1000) + N(N-1)/2 everywhere. */
    private static void verify(final Collective collective, final ByteBuffer data, final int rank, final int worldSize)
    {
        final int floats = data.capacity() / Float.BYTES;
        for (int e = 0; e < floats; e++)
        {
            data.putFloat(e * Float.BYTES, (e % 1000) + rank);
        }
        collective.allReduce(data, ReduceOp.SUM);
        for (int e = 0; e < floats; e++)
        {
            final float expected = worldSize * (float)(e % 1000) + worldSize * (worldSize - 1) / 2f;
            if (data.getFloat(e * Float.BYTES) != expected)
            {
                System.out.println("WRONG element " + e + " = " + data.getFloat(e * Float.BYTES) + ", expected " +
                    expected);
                System.exit(3);
            }
        }
    }

    public static void main(final String[] args)
    {
        final Path rendezvousDir = Path.of(args[0]);
        final long session = Long.parseLong(args[1]);
        final int rank = Integer.parseInt(args[2]);
        final int worldSize = Integer.parseInt(args[3]);
        final CollectiveConfig config = CollectiveConfig.builder(session)
            .transport(Transport.valueOf(args[4]))
            .timeoutMs(60_000)
            .termBufferBytes(Integer.getInteger("paratrain.bench.termBytes", CollectiveConfig.DEFAULT_TERM_BUFFER_BYTES))
            .mtuBytes(Integer.getInteger("paratrain.bench.mtuBytes", CollectiveConfig.DEFAULT_MTU_BYTES))
            .build();
        final int warmup = Integer.parseInt(args[5]);
        final RingRendezvous rendezvous = RingRendezvous.bind(config, rank, worldSize);
        try (Collective collective = rendezvous.connect(
            FileRendezvous.exchange(rendezvousDir, rank, worldSize, rendezvous.endpoint(), 60_000)))
        {
            for (int i = 6; i < args.length; i++)
            {
                final long bytes = Long.parseLong(args[i]);
                final ByteBuffer data = ByteBuffer.allocateDirect((int)bytes).order(ByteOrder.nativeOrder());
                for (int w = 0; w < warmup; w++)
                {
                    collective.allReduce(data, ReduceOp.SUM);
                }
                // Timed rounds sum zeros (what a gradient all-reduce does, without values growing round by round);
                // a separate round then checks exact results.
                final int rounds = (int)Math.max(MIN_ROUNDS, Math.min(MAX_ROUNDS, TARGET_BYTES_PER_SIZE / bytes));
                final StringBuilder roundSeconds = new StringBuilder();
                for (int r = 0; r < rounds; r++)
                {
                    collective.barrier();
                    final long startNs = System.nanoTime();
                    collective.allReduce(data, ReduceOp.SUM);
                    roundSeconds.append(' ').append((System.nanoTime() - startNs) / 1e9);
                }
                verify(collective, data, rank, worldSize);
                System.out.println("ROUNDS " + bytes + roundSeconds);
            }
            System.out.println("STATS " + collective.stats());
        }
        System.exit(0);
    }
}
