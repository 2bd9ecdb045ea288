package io.paratrain.sparktrainer.internal;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.ObjectOutputStream;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * Rank 0's end of {@link ModelReceiver}: sends the final model to the driver over a socket and returns a small
 * {@link Delivery} for the task result. If the driver cannot be reached or does not confirm in time, the model
 * goes in the task result itself, as before.
 */
public final class ModelSender
{
    static final int ACK = 0x4D; // 'M'
    private static final Logger LOG = LoggerFactory.getLogger(ModelSender.class);
    private static final int CONNECT_TIMEOUT_MS = 5_000;

    private ModelSender()
    {
    }

    /**
     * What rank 0 returns through Spark: the digest of a model sent over the socket, or (when that failed) the
     * model itself.
     */
    public record Delivery(byte[] digest, ModelSnapshot inline) implements Serializable
    {
        public ModelSnapshot resolve(final ModelReceiver receiver)
        {
            return inline != null ? inline : receiver.take(digest);
        }
    }

    /**
     * @param address   the driver's {@link ModelReceiver#address()}.
     * @param timeoutMs deadline for the driver's confirmation once the bytes are written.
     */
    public static Delivery send(final ModelSnapshot model, final String address, final long sessionId,
        final long timeoutMs)
    {
        final byte[] payload = serialize(model);
        final byte[] digest = sha256(payload);
        final int colon = address.lastIndexOf(':');
        final long startNs = System.nanoTime();
        try (Socket socket = new Socket())
        {
            socket.connect(new InetSocketAddress(address.substring(0, colon),
                Integer.parseInt(address.substring(colon + 1))), CONNECT_TIMEOUT_MS);
            socket.setSoTimeout((int)Math.min(Integer.MAX_VALUE, timeoutMs));
            final DataOutputStream out = new DataOutputStream(new BufferedOutputStream(socket.getOutputStream(),
                1 << 16));
            new Header(sessionId, digest, payload.length).write(out);
            out.write(payload);
            out.flush();
            final int ack = new DataInputStream(socket.getInputStream()).read();
            if (ack != ACK)
            {
                throw new IOException("the driver did not confirm the model (got " + ack + ")");
            }
            LOG.info("Sent the final model ({} bytes) to the driver at {} in {} ms", payload.length, address,
                (System.nanoTime() - startNs) / 1_000_000);
            return new Delivery(digest, null);
        }
        catch (final IOException | RuntimeException ex)
        {
            LOG.warn("Cannot send the final model to the driver at {} ({}): returning it through Spark instead",
                address, ex.toString());
            return new Delivery(digest, model);
        }
    }

    static byte[] serialize(final ModelSnapshot model)
    {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream(model.parameters().length * 4 +
            (model.updaterState() == null ? 0 : model.updaterState().length * 4) +
            model.configurationJson().length() * 2 + 1024);
        try (ObjectOutputStream out = new ObjectOutputStream(bytes))
        {
            out.writeObject(model);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot serialize the final model", ex);
        }
        return bytes.toByteArray();
    }

    static byte[] sha256(final byte[] payload)
    {
        try
        {
            return MessageDigest.getInstance("SHA-256").digest(payload);
        }
        catch (final NoSuchAlgorithmException ex)
        {
            throw new IllegalStateException("every Java runtime has SHA-256", ex);
        }
    }

    /** session id (8 bytes), SHA-256 of the payload (32), payload length (8). */
    record Header(long sessionId, byte[] digest, long payloadBytes)
    {
        void write(final DataOutputStream out) throws IOException
        {
            out.writeLong(sessionId);
            out.write(digest);
            out.writeLong(payloadBytes);
        }

        static Header read(final DataInputStream in) throws IOException
        {
            final long sessionId = in.readLong();
            final byte[] digest = new byte[32];
            in.readFully(digest);
            return new Header(sessionId, digest, in.readLong());
        }
    }
}
