package io.paratrain.sparktrainer.internal.driver;

import io.paratrain.sparktrainer.internal.snapshot.ModelSnapshot;
import io.paratrain.sparktrainer.internal.snapshot.SnapshotCodec;

import io.paratrain.sparktrainer.exceptions.TrainerException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.DataInputStream;
import java.io.IOException;
import java.net.Socket;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The driver's end of {@link ModelSender}: receives rank 0's final model as raw bytes over a socket of its own.
 * Spark's result path stores a result over 1 MiB in the block manager, fetches it through the shuffle transport
 * and deserializes it on the driver, about 0.5 s for a 15.6 MB model with Adam state, and refuses results over
 * {@code spark.driver.maxResultSize} (1 GiB by default); a socket write of the same bytes takes milliseconds.
 * <p>
 * Only the digest travels in the task result, through Spark's own (authenticated, when so configured) channel;
 * a model is handed out only for a digest that a task reported, so bytes sent by anyone else are never used.
 * Stores are kept by digest: a retried stage attempt simply sends another one.
 */
public final class ModelReceiver extends DriverSocket implements ModelInbox
{
    private static final Logger LOG = LoggerFactory.getLogger(ModelReceiver.class);
    /** Larger payloads go through Spark (Java arrays stop at 2^31 - 1 bytes). */
    static final long MAX_PAYLOAD_BYTES = Integer.MAX_VALUE - 16;

    private final long sessionId;
    private final long readTimeoutMs;
    private final Map<String, byte[]> received = new ConcurrentHashMap<>();

    /**
     * @param readTimeoutMs how long a connection may stall mid-model before it is dropped.
     */
    public ModelReceiver(final String bindHost, final long sessionId, final long readTimeoutMs) throws IOException
    {
        super(bindHost, "model");
        this.sessionId = sessionId;
        this.readTimeoutMs = readTimeoutMs;
        start();
    }

    /** The model whose bytes had {@code digest}; the result of rank 0's {@link ModelSender#send}. */
    @Override
    public ModelSnapshot take(final byte[] digest)
    {
        final String key = HexFormat.of().formatHex(digest);
        final byte[] payload = received.remove(key);
        if (payload == null)
        {
            throw new TrainerException("rank 0 reported its final model (SHA-256 " + key + ") as delivered to the " +
                "driver's model socket " + address() + ", but no such model arrived");
        }
        try
        {
            return SnapshotCodec.read(payload);
        }
        catch (final IOException ex)
        {
            throw new TrainerException("cannot read rank 0's final model (SHA-256 " + key + ")", ex);
        }
    }

    @Override
    void serve(final Socket socket) throws IOException
    {
        socket.setSoTimeout((int)Math.min(Integer.MAX_VALUE, readTimeoutMs));
        receive(socket);
    }

    private void receive(final Socket socket) throws IOException
    {
        final DataInputStream in = new DataInputStream(socket.getInputStream());
        final ModelSender.Header header = ModelSender.Header.read(in);
        if (header.sessionId() != sessionId || header.payloadBytes() < 0 || header.payloadBytes() > MAX_PAYLOAD_BYTES)
        {
            LOG.warn("Ignoring a model connection from {}: session {} (expected {}), {} bytes",
                socket.getRemoteSocketAddress(), Long.toHexString(header.sessionId()), Long.toHexString(sessionId),
                header.payloadBytes());
            return;
        }
        final byte[] payload = new byte[(int)header.payloadBytes()];
        final MessageDigest sha256 = ModelSender.sha256();
        for (int offset = 0; offset < payload.length; offset += ModelSender.CHUNK_BYTES)
        {
            final int length = Math.min(ModelSender.CHUNK_BYTES, payload.length - offset);
            in.readFully(payload, offset, length);
            sha256.update(payload, offset, length);
        }
        final byte[] digest = sha256.digest();
        final byte[] claimed = new byte[ModelSender.DIGEST_BYTES];
        in.readFully(claimed);
        if (!MessageDigest.isEqual(claimed, digest))
        {
            LOG.warn("Ignoring a model from {}: its bytes do not match the SHA-256 that follows them",
                socket.getRemoteSocketAddress());
            return;
        }
        received.put(HexFormat.of().formatHex(digest), payload);
        socket.getOutputStream().write(ModelSender.ACK);
        socket.getOutputStream().flush();
    }

    @Override
    public void close() throws InterruptedException
    {
        super.close();
        received.clear();
    }
}
