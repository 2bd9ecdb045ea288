package io.paratrain.sparktrainer.internal.dataparallel;

import io.paratrain.gradientsharing.Collective;
import io.paratrain.sparktrainer.exceptions.ReplicasDivergedException;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/** Proves the replicas are still identical: CRC32C of the parameter bytes, compared across ranks. */
public final class ParameterChecksum
{
    private ParameterChecksum()
    {
    }

    public static long of(final INDArray parameters)
    {
        final ByteBuffer bytes = parameters.data().asNio().duplicate();
        bytes.clear().limit((int)(parameters.length() * parameters.data().getElementSize()));
        final CRC32C crc = new CRC32C();
        crc.update(bytes);
        return crc.getValue();
    }

    /** Gathers every rank's checksum and throws, on every rank, if any differs. */
    public static void verify(final Collective collective, final INDArray parameters, final String where)
    {
        final long mine = of(parameters);
        final byte[][] all = collective.allGather(ByteBuffer.allocate(Long.BYTES).putLong(mine).array());
        final long reference = ByteBuffer.wrap(all[0]).getLong();
        for (int rank = 1; rank < all.length; rank++)
        {
            final long theirs = ByteBuffer.wrap(all[rank]).getLong();
            if (theirs != reference)
            {
                throw new ReplicasDivergedException("replicas diverged " + where + ": parameter checksum of rank 0 " +
                    "is " + Long.toHexString(reference) + ", of rank " + rank + " " + Long.toHexString(theirs));
            }
        }
    }
}
