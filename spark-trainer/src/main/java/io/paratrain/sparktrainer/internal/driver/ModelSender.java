package io.paratrain.sparktrainer.internal.driver;

import io.paratrain.sparktrainer.internal.snapshot.ModelSnapshot;
import io.paratrain.sparktrainer.internal.snapshot.SnapshotCodec;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.paratrain.sparktrainer.exceptions.TrainerException;

import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.Serializable;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.security.DigestOutputStream;
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
    /** The receiver reads and hashes the payload in blocks of this size. */
    static final int CHUNK_BYTES = 1 << 20;
    static final int DIGEST_BYTES = 32;

    private ModelSender()
    {
    }

    /**
     * What rank 0 returns through Spark: the digest of a model sent over the socket (or the key of one left in
     * the driver's JVM, {@link SameJvmHandoff}), or, when sending failed, the model itself.
     */
    public record Delivery(byte[] digest, ModelSnapshot inline) implements Serializable
    {
        private static final byte DIGEST = 1;
        private static final byte INLINE = 2;

        public ModelSnapshot resolve(final ModelInbox inbox)
        {
            return inline != null ? inline : inbox.take(digest);
        }

        /**
         * The task result's byte form (see {@code ShippedBytes}): a kind byte, then the digest or the model's
         * snapshot bytes.
         */
        public byte[] encode()
        {
            final ByteArrayOutputStream bytes = new ByteArrayOutputStream(inline == null ? 1 + digest.length :
                (int)Math.min(Integer.MAX_VALUE - 16, 1 + SnapshotCodec.length(inline)));
            try
            {
                bytes.write(inline == null ? DIGEST : INLINE);
                if (inline == null)
                {
                    bytes.write(digest);
                }
                else
                {
                    SnapshotCodec.write(inline, bytes);
                }
            }
            catch (final IOException ex)
            {
                throw new UncheckedIOException("cannot encode rank 0's final model", ex);
            }
            return bytes.toByteArray();
        }

        public static Delivery decode(final byte[] bytes)
        {
            final byte[] payload = Arrays.copyOfRange(bytes, 1, bytes.length);
            return switch (bytes[0])
            {
                case DIGEST -> new Delivery(payload, null);
                case INLINE -> new Delivery(null, inlineModel(payload));
                default -> throw new TrainerException("rank 0's task result is not a model delivery (kind " +
                    bytes[0] + ")");
            };
        }

        private static ModelSnapshot inlineModel(final byte[] bytes)
        {
            try
            {
                return SnapshotCodec.read(bytes);
            }
            catch (final IOException ex)
            {
                throw new TrainerException("cannot read rank 0's final model from its Spark task result", ex);
            }
        }
    }

    /**
     * @param address   the driver's {@link ModelReceiver#address()}.
     * @param timeoutMs deadline for the driver's confirmation once the bytes are written.
     */
    public static Delivery send(final ModelSnapshot model, final String address, final long sessionId,
        final long timeoutMs)
    {
        final long payloadBytes = SnapshotCodec.length(model);
        if (payloadBytes > ModelReceiver.MAX_PAYLOAD_BYTES)
        {
            LOG.info("The final model has {} bytes, more than the model socket takes: returning it through Spark",
                payloadBytes);
            return new Delivery(null, model);
        }
        final MessageDigest sha256 = sha256();
        final int colon = address.lastIndexOf(':');
        final long startNs = System.nanoTime();
        try (Socket socket = new Socket())
        {
            socket.connect(new InetSocketAddress(address.substring(0, colon),
                Integer.parseInt(address.substring(colon + 1))), CONNECT_TIMEOUT_MS);
            socket.setSoTimeout((int)Math.min(Integer.MAX_VALUE, timeoutMs));
            // buffered: the header and the codec's small fields would otherwise go out as tiny TCP writes
            final DataOutputStream out = new DataOutputStream(new BufferedOutputStream(socket.getOutputStream(),
                1 << 16));
            new Header(sessionId, payloadBytes).write(out);
            // The codec writes in blocks, each hashed as it goes: the driver hashes the blocks before while this
            // one is hashed, so the two digests of a 15 MB model (100-200 ms each in a fresh JVM) overlap.
            SnapshotCodec.write(model, new DigestOutputStream(out, sha256));
            final byte[] digest = sha256.digest();
            out.write(digest);
            out.flush();
            final int ack = new DataInputStream(socket.getInputStream()).read();
            if (ack != ACK)
            {
                throw new IOException("the driver did not confirm the model (got " + ack + ")");
            }
            LOG.info("Sent the final model ({} bytes) to the driver at {} in {} ms", payloadBytes, address,
                (System.nanoTime() - startNs) / 1_000_000);
            return new Delivery(digest, null);
        }
        catch (final IOException | RuntimeException ex)
        {
            LOG.warn("Cannot send the final model to the driver at {} ({}): returning it through Spark instead",
                address, ex.toString());
            return new Delivery(null, model);
        }
    }

    static byte[] sha256(final byte[] payload)
    {
        return sha256().digest(payload);
    }

    static MessageDigest sha256()
    {
        try
        {
            return MessageDigest.getInstance("SHA-256");
        }
        catch (final NoSuchAlgorithmException ex)
        {
            throw new IllegalStateException("every Java runtime has SHA-256", ex);
        }
    }

    /**
     * What precedes the payload: session id (8 bytes) and payload length (8). The payload's SHA-256 (32 bytes)
     * follows it.
     */
    record Header(long sessionId, long payloadBytes)
    {
        void write(final DataOutputStream out) throws IOException
        {
            out.writeLong(sessionId);
            out.writeLong(payloadBytes);
        }

        static Header read(final DataInputStream in) throws IOException
        {
            return new Header(in.readLong(), in.readLong());
        }
    }
}
