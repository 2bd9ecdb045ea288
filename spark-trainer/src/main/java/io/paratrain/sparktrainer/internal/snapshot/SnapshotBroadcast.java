package io.paratrain.sparktrainer.internal.snapshot;

import io.paratrain.sparktrainer.exceptions.TrainerException;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;

import java.io.IOException;
import java.io.Serializable;

/**
 * A model broadcast to the tasks as {@link SnapshotCodec}'s bytes, so that Spark's configured serializer only ever
 * sees a {@code byte[]} (see {@link ShippedBytes}). Each deserialized copy (one per task) decodes the bytes once, on
 * first use.
 */
public final class SnapshotBroadcast implements Serializable
{
    private static final long serialVersionUID = 1L;

    private final Broadcast<byte[]> bytes;
    private transient ModelSnapshot decoded;

    private SnapshotBroadcast(final Broadcast<byte[]> bytes)
    {
        this.bytes = bytes;
    }

    public static SnapshotBroadcast of(final JavaSparkContext sc, final ModelSnapshot snapshot)
    {
        return new SnapshotBroadcast(sc.broadcast(SnapshotCodec.encode(snapshot)));
    }

    public synchronized ModelSnapshot value()
    {
        if (decoded == null)
        {
            try
            {
                decoded = SnapshotCodec.read(bytes.value());
            }
            catch (final IOException ex)
            {
                throw new TrainerException("the broadcast model is unreadable", ex);
            }
        }
        return decoded;
    }

    /** Removes the bytes from the driver and the executors; on the driver, once the stage is done. */
    public void destroy()
    {
        bytes.destroy();
    }
}
