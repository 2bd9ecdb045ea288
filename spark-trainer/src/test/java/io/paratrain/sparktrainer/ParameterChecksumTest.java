package io.paratrain.sparktrainer;

import io.paratrain.gradientsharing.Collective;
import io.paratrain.gradientsharing.CollectiveConfig;
import io.paratrain.gradientsharing.Endpoint;
import io.paratrain.gradientsharing.RingRendezvous;
import io.paratrain.sparktrainer.exceptions.ReplicasDivergedException;
import io.paratrain.sparktrainer.internal.ParameterChecksum;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The replicas' identity check: equal parameters pass, one flipped bit fails on every rank with both checksums. */
@Timeout(60)
class ParameterChecksumTest
{
    @TempDir
    Path driverBase;

    @Test
    void identicalReplicasPassAndADivergedOneFailsOnEveryRank() throws Exception
    {
        final CollectiveConfig config = CollectiveConfig.builder(0x5eedL).driverBaseDir(driverBase).timeoutMs(10_000)
            .termBufferBytes(1 << 20).build();
        final ExecutorService threads = Executors.newFixedThreadPool(2);
        final List<RingRendezvous> bound = List.of(RingRendezvous.bind(config, 0, 2), RingRendezvous.bind(config, 1, 2));
        final List<Endpoint> endpoints = List.of(bound.get(0).endpoint(), bound.get(1).endpoint());
        final List<Future<Collective>> connecting = new ArrayList<>();
        for (final RingRendezvous rendezvous : bound)
        {
            connecting.add(threads.submit(() -> rendezvous.connect(endpoints)));
        }
        final List<Collective> ranks = List.of(connecting.get(0).get(30, TimeUnit.SECONDS),
            connecting.get(1).get(30, TimeUnit.SECONDS));
        try
        {
            final INDArray parameters = Nd4j.linspace(DataType.FLOAT, 1, 1000, 1);
            assertNull(onBoth(threads, rank -> verify(ranks.get(rank), parameters.dup(), "after step 1")).get(0));

            final List<Throwable> failures = onBoth(threads, rank ->
            {
                final INDArray mine = parameters.dup();
                if (rank == 1)
                {
                    mine.putScalar(500, Math.nextUp(mine.getFloat(500))); // one ulp on one replica
                }
                return verify(ranks.get(rank), mine, "after epoch 0 step 7");
            });
            for (final Throwable failure : failures)
            {
                final String message = assertInstanceOf(ReplicasDivergedException.class, failure).getMessage();
                assertTrue(message.startsWith("replicas diverged after epoch 0 step 7: parameter checksum of rank 0 " +
                    "is " + Long.toHexString(ParameterChecksum.of(parameters))), message);
                assertTrue(message.contains(", of rank 1 "), message);
            }
            assertEquals(2, failures.size());
        }
        finally
        {
            ranks.forEach(Collective::close);
            threads.shutdownNow();
        }
    }

    private static Throwable verify(final Collective collective, final INDArray parameters, final String where)
    {
        try
        {
            ParameterChecksum.verify(collective, parameters, where);
            return null;
        }
        catch (final ReplicasDivergedException ex)
        {
            return ex;
        }
    }

    private static List<Throwable> onBoth(final ExecutorService threads, final IntFunction<Throwable> work)
        throws Exception
    {
        final Future<Throwable> rank0 = threads.submit(() -> work.apply(0));
        final Future<Throwable> rank1 = threads.submit(() -> work.apply(1));
        final List<Throwable> results = new ArrayList<>();
        results.add(rank0.get(30, TimeUnit.SECONDS));
        results.add(rank1.get(30, TimeUnit.SECONDS));
        return results;
    }
}
