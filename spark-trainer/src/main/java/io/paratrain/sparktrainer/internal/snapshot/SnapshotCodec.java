package io.paratrain.sparktrainer.internal.snapshot;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The binary form of a {@link ModelSnapshot}, written straight to a stream: magic, iteration and epoch counters,
 * the configuration ({@link NetworkConfiguration#writeTo}), then parameters and updater state as a float count
 * (-1 for none) followed by raw little-endian floats.
 * <p>
 * Why not Java serialization: writing a 15 MB snapshot through {@code ObjectOutputStream} into a byte array took
 * 180 ms in a fresh JVM (records are serialized reflectively, and the array is copied three times); this writes
 * the floats in 1 MiB blocks, so a socket can send one block while the next is converted.
 */
public final class SnapshotCodec
{
    private static final int MAGIC = 0x5054534E; // "PTSN"
    private static final int BLOCK_FLOATS = 1 << 18;

    private SnapshotCodec()
    {
    }

    /** Bytes that {@link #write} produces for {@code snapshot}. */
    public static long length(final ModelSnapshot snapshot)
    {
        return 3L * Integer.BYTES + snapshot.configuration().encodedLength() + floatsLength(snapshot.parameters()) +
            floatsLength(snapshot.updaterState());
    }

    public static void write(final ModelSnapshot snapshot, final OutputStream stream) throws IOException
    {
        final DataOutputStream out = new DataOutputStream(stream);
        out.writeInt(MAGIC);
        out.writeInt(snapshot.iterationCount());
        out.writeInt(snapshot.epochCount());
        snapshot.configuration().writeTo(out);
        writeFloats(snapshot.parameters(), out, ByteOrder.LITTLE_ENDIAN);
        writeFloats(snapshot.updaterState(), out, ByteOrder.LITTLE_ENDIAN);
        out.flush();
    }

    public static byte[] encode(final ModelSnapshot snapshot)
    {
        final long length = length(snapshot);
        if (length > Integer.MAX_VALUE - 16)
        {
            throw new IllegalArgumentException("a snapshot of " + length + " bytes does not fit one Java array");
        }
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream((int)length);
        try
        {
            write(snapshot, bytes);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot encode the snapshot", ex);
        }
        return bytes.toByteArray();
    }

    /** Reads what {@link #write} wrote; an {@link IOException} for anything else, truncated bytes included. */
    public static ModelSnapshot read(final byte[] bytes) throws IOException
    {
        final DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes));
        final int magic = in.readInt();
        if (magic != MAGIC)
        {
            throw new IOException("not a model snapshot (magic " + Integer.toHexString(magic) + ")");
        }
        final int iterationCount = in.readInt();
        final int epochCount = in.readInt();
        final NetworkConfiguration configuration = NetworkConfiguration.readFrom(in, bytes.length);
        final float[] parameters = readFloats(in, bytes.length, ByteOrder.LITTLE_ENDIAN);
        if (parameters == null)
        {
            throw new IOException("the snapshot has no parameters");
        }
        final float[] updaterState = readFloats(in, bytes.length, ByteOrder.LITTLE_ENDIAN);
        if (in.read() != -1)
        {
            throw new IOException("bytes left after the snapshot's end");
        }
        return new ModelSnapshot(configuration, parameters, updaterState, iterationCount, epochCount);
    }

    private static long floatsLength(final float[] values)
    {
        return Integer.BYTES + (values == null ? 0 : (long)values.length * Float.BYTES);
    }

    /**
     * A float count (-1 for null), then the floats in {@code order}, converted in blocks of 1 MiB (no byte copy of
     * the whole array). {@link Checkpoint} writes its arrays so too, big-endian.
     */
    public static void writeFloats(final float[] values, final DataOutputStream out, final ByteOrder order)
        throws IOException
    {
        if (values == null)
        {
            out.writeInt(-1);
            return;
        }
        out.writeInt(values.length);
        final ByteBuffer block = ByteBuffer.allocate(Math.min(values.length, BLOCK_FLOATS) * Float.BYTES)
            .order(order);
        for (int offset = 0; offset < values.length; offset += BLOCK_FLOATS)
        {
            final int count = Math.min(BLOCK_FLOATS, values.length - offset);
            block.clear();
            block.asFloatBuffer().put(values, offset, count);
            out.write(block.array(), 0, count * Float.BYTES);
        }
    }

    /** Reads what {@link #writeFloats} wrote, from a source of {@code totalBytes} bytes in all. */
    public static float[] readFloats(final DataInputStream in, final int totalBytes, final ByteOrder order)
        throws IOException
    {
        final int count = in.readInt();
        if (count < -1 || (long)count * Float.BYTES > totalBytes)
        {
            throw new IOException("float count " + count + " does not fit a snapshot of " + totalBytes + " bytes");
        }
        if (count == -1)
        {
            return null;
        }
        final float[] values = new float[count];
        final byte[] block = new byte[Math.min(count, BLOCK_FLOATS) * Float.BYTES];
        for (int offset = 0; offset < count; offset += BLOCK_FLOATS)
        {
            final int floats = Math.min(BLOCK_FLOATS, count - offset);
            try
            {
                in.readFully(block, 0, floats * Float.BYTES);
            }
            catch (final EOFException ex)
            {
                throw new IOException("truncated snapshot: " + count + " floats announced", ex);
            }
            ByteBuffer.wrap(block, 0, floats * Float.BYTES).order(order).asFloatBuffer().get(values, offset, floats);
        }
        return values;
    }
}
