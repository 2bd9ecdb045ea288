package io.paratrain.sparktrainer.internal.snapshot;

import io.paratrain.sparktrainer.internal.driver.ModelSender;
import io.paratrain.sparktrainer.internal.modelsplit.SplitBarrierTask;

import io.paratrain.sparktrainer.exceptions.TrainerException;
import org.nd4j.linalg.dataset.DataSet;
import scala.Tuple2;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
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
 * encodes its objects itself: models with {@link SnapshotCodec}, examples in ND4J's DataSet format, the rest in a
 * few fixed fields.
 */
public final class ShippedBytes
{
    private static final byte DIGEST = 1;
    private static final byte INLINE = 2;

    private ShippedBytes()
    {
    }

    /** Rank 0's {@link ModelSender.Delivery}: a kind byte, then the digest or the model's snapshot bytes. */
    public static byte[] encodeDelivery(final ModelSender.Delivery delivery)
    {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream(delivery.inline() == null ?
            1 + delivery.digest().length : (int)Math.min(Integer.MAX_VALUE - 16,
            1 + SnapshotCodec.length(delivery.inline())));
        try
        {
            bytes.write(delivery.inline() == null ? DIGEST : INLINE);
            if (delivery.inline() == null)
            {
                bytes.write(delivery.digest());
            }
            else
            {
                SnapshotCodec.write(delivery.inline(), bytes);
            }
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot encode rank 0's final model", ex);
        }
        return bytes.toByteArray();
    }

    public static ModelSender.Delivery decodeDelivery(final byte[] bytes)
    {
        final byte[] payload = java.util.Arrays.copyOfRange(bytes, 1, bytes.length);
        return switch (bytes[0])
        {
            case DIGEST -> new ModelSender.Delivery(payload, null);
            case INLINE -> new ModelSender.Delivery(null, snapshot(payload, "rank 0's final model"));
            default -> throw new TrainerException("rank 0's task result is not a model delivery (kind " + bytes[0] +
                ")");
        };
    }

    /** A model-split stage's result: the last step's loss, then the model's snapshot bytes. */
    public static byte[] encodeSplitResult(final SplitBarrierTask.Result result)
    {
        final byte[] model = SnapshotCodec.encode(result.model());
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream(Double.BYTES + model.length);
        try (DataOutputStream out = new DataOutputStream(bytes))
        {
            out.writeDouble(result.lastLoss());
            out.write(model);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot encode the model-split result", ex);
        }
        return bytes.toByteArray();
    }

    public static SplitBarrierTask.Result decodeSplitResult(final byte[] bytes)
    {
        final double lastLoss = java.nio.ByteBuffer.wrap(bytes, 0, Double.BYTES).getDouble();
        return new SplitBarrierTask.Result(snapshot(java.util.Arrays.copyOfRange(bytes, Double.BYTES, bytes.length),
            "the model-split result"), lastLoss);
    }

    /** A run of examples on its way to its replica: the global index of its first example, then the DataSet. */
    public static byte[] encodeRun(final long firstIndex, final DataSet run)
    {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes))
        {
            out.writeLong(firstIndex);
            out.flush();
            run.save(bytes); // ND4J's binary format, bit-exact (a view is written as its own elements)
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot encode the examples from index " + firstIndex, ex);
        }
        return bytes.toByteArray();
    }

    public static Tuple2<Long, DataSet> decodeRun(final byte[] bytes)
    {
        final ByteArrayInputStream in = new ByteArrayInputStream(bytes);
        final long firstIndex;
        try
        {
            firstIndex = new DataInputStream(in).readLong();
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("a shuffled run of examples has only " + bytes.length + " bytes", ex);
        }
        final DataSet run = new DataSet();
        run.load(in);
        return new Tuple2<>(firstIndex, run);
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

    private static ModelSnapshot snapshot(final byte[] bytes, final String what)
    {
        try
        {
            return SnapshotCodec.read(bytes);
        }
        catch (final IOException ex)
        {
            throw new TrainerException("cannot read " + what + " from its Spark task result", ex);
        }
    }
}
