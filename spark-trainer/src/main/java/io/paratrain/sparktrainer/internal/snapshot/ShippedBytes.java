package io.paratrain.sparktrainer.internal.snapshot;

import io.paratrain.sparktrainer.exceptions.TrainerException;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectOutputStream;
import java.io.Serializable;
import java.io.UncheckedIOException;

/**
 * The byte form of everything a fit hands to Spark as data (task results, shuffled records, broadcasts), so that
 * none of it depends on the user's {@code spark.serializer}. Spark writes those with its configured serializer, and
 * with {@code KryoSerializer} (as DL4J recommends, with its {@code Nd4jRegistrator}) Kryo's field serializer fails on
 * Java records ("can't get field offset on a record class") and copies an INDArray's JavaCPP pointers rather than
 * its data. Every Spark serializer carries a {@code byte[]} as it is (Spark registers it with Kryo), so the fit
 * encodes its objects itself: models with {@link SnapshotCodec}, examples with the data package's
 * {@code MinibatchCodec}, the rest in a few fixed fields.
 */
public final class ShippedBytes
{
    private ShippedBytes()
    {
    }

    /** An object of a library type that supports Java serialization (say, an Evaluation), serialized so. */
    public static byte[] encodeJava(final Serializable value)
    {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes))
        {
            out.writeObject(value);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot serialize a " + value.getClass().getName(), ex);
        }
        return bytes.toByteArray();
    }

    /** Reads what {@link #encodeJava} wrote, resolving classes through the thread's context class loader. */
    public static <T> T decodeJava(final byte[] bytes, final Class<T> type)
    {
        try (NetworkConfiguration.ContextClassLoaderInput in =
            new NetworkConfiguration.ContextClassLoaderInput(new ByteArrayInputStream(bytes)))
        {
            return type.cast(in.readObject());
        }
        catch (final IOException | ClassNotFoundException ex)
        {
            throw new TrainerException("cannot read a " + type.getName() + " returned by a Spark task", ex);
        }
    }
}
