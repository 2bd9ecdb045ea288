package io.paratrain.sparktrainer;

import io.paratrain.gradientsharing.Collective;
import io.paratrain.gradientsharing.TestRing;
import io.paratrain.gradientsharing.Transport;
import io.paratrain.sparktrainer.exceptions.ReplicasDivergedException;
import io.paratrain.sparktrainer.internal.dataparallel.ParameterChecksum;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
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
        try (TestRing ring = TestRing.connect(TestRing.config(driverBase, Transport.AUTO).build(), 2))
        {
            final INDArray parameters = Nd4j.linspace(DataType.FLOAT, 1, 1000, 1);
            assertEquals(Arrays.asList(null, null),
                ring.onEveryRank(rank -> verify(ring.ranks.get(rank), parameters.dup(), "after step 1")));

            final List<Throwable> failures = ring.onEveryRank(rank ->
            {
                final INDArray mine = parameters.dup();
                if (rank == 1)
                {
                    mine.putScalar(500, Math.nextUp(mine.getFloat(500))); // one ulp on one replica
                }
                return verify(ring.ranks.get(rank), mine, "after epoch 0 step 7");
            });
            assertEquals(2, failures.size());
            for (final Throwable failure : failures)
            {
                final String message = assertInstanceOf(ReplicasDivergedException.class, failure).getMessage();
                assertTrue(message.startsWith("replicas diverged after epoch 0 step 7: parameter checksum of rank 0 " +
                    "is " + Long.toHexString(ParameterChecksum.of(parameters))), message);
                assertTrue(message.contains(", of rank 1 "), message);
            }
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
}
