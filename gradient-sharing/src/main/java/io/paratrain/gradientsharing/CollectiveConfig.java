package io.paratrain.gradientsharing;

import io.paratrain.gradientsharing.exceptions.CollectiveConfigException;
import io.paratrain.gradientsharing.internal.SharedMediaDriver;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * Validated, immutable settings of one job's collective. Every rank of a job must use the same
 * {@code sessionId}, {@code streamId}, {@code hmacSecret} and {@code driverBaseDir}.
 *
 * @param sessionId         per-job id carried by every frame; frames with another id are dropped and counted.
 * @param timeoutMs         longest wait without progress from a peer before a {@code CollectiveTimeoutException}.
 * @param closeTimeoutMs    how long the JVM that owns a shared media driver waits for other JVMs to detach.
 * @param transport         {@link Transport#AUTO} (IPC where a driver is shared, else UDP) or UDP everywhere.
 * @param bindHost          address this rank's UDP subscription binds to (never a wildcard by default).
 * @param bindPort          UDP port to bind, 0 for an ephemeral port (the real one is published).
 * @param mtuBytes          Aeron MTU; a 64 KiB MTU roughly doubles UDP loopback throughput over 8 KiB.
 * @param termBufferBytes   Aeron term length of each link (power of two, 64 KiB .. 1 GiB).
 * @param socketBufferBytes UDP socket buffers and receiver window.
 * @param driverBaseDir     folder under which the shared media driver's directory is made.
 * @param streamId          Aeron stream id of the ring.
 * @param hmacSecret        if non-null, every frame carries an HMAC-SHA256 over header and payload.
 */
public record CollectiveConfig(
    long sessionId,
    long timeoutMs,
    long closeTimeoutMs,
    Transport transport,
    String bindHost,
    int bindPort,
    int mtuBytes,
    int termBufferBytes,
    int socketBufferBytes,
    Path driverBaseDir,
    int streamId,
    byte[] hmacSecret)
{
    public static final long DEFAULT_TIMEOUT_MS = 30_000;
    public static final long DEFAULT_CLOSE_TIMEOUT_MS = 5_000;
    public static final String DEFAULT_BIND_HOST = "127.0.0.1";
    /** The largest MTU Aeron accepts for UDP (64 KiB minus IP/UDP headers, frame aligned). */
    public static final int DEFAULT_MTU_BYTES = 65_504;
    /**
     * Log buffers are sparse files, so every page of a link's three terms is first touched during the first steps
     * (~4 ms per MB on the 2-core VM here): with 16 MiB terms the first ten steps of a 784-1000-500-10 fit took
     * ~1.05 s, with 8 MiB ~0.79 s. A 5 MB all-reduce over IPC took 2.4 ms against 2.1 ms once warm.
     */
    public static final int DEFAULT_TERM_BUFFER_BYTES = 8 * 1024 * 1024;
    public static final int DEFAULT_SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;
    public static final int DEFAULT_STREAM_ID = 0x5054;
    public static final int MIN_HMAC_SECRET_BYTES = 16;

    public CollectiveConfig
    {
        require(sessionId != 0, "sessionId", sessionId, "non-zero");
        require(timeoutMs > 0, "timeoutMs", timeoutMs, "> 0");
        require(closeTimeoutMs >= 0, "closeTimeoutMs", closeTimeoutMs, ">= 0");
        require(transport != null, "transport", null, "AUTO or UDP");
        require(bindHost != null && !bindHost.isBlank(), "bindHost", bindHost, "a host name or address");
        require(bindPort >= 0 && bindPort <= 65_535, "bindPort", bindPort, "0..65535 (0 = ephemeral)");
        require(mtuBytes >= 4096 && mtuBytes <= 65_504 && mtuBytes % 32 == 0, "mtuBytes", mtuBytes,
            "a multiple of 32 in 4096..65504");
        require(termBufferBytes >= 65_536 && termBufferBytes <= (1 << 30) && Integer.bitCount(termBufferBytes) == 1,
            "termBufferBytes", termBufferBytes, "a power of two in 64 KiB..1 GiB");
        require(termBufferBytes >= 8 * mtuBytes, "termBufferBytes", termBufferBytes,
            ">= 8 x mtuBytes (" + 8L * mtuBytes + ")");
        require(socketBufferBytes >= 65_536, "socketBufferBytes", socketBufferBytes, ">= 65536");
        require(driverBaseDir != null, "driverBaseDir", null, "a folder");
        require(streamId != 0, "streamId", streamId, "non-zero");
        require(hmacSecret == null || hmacSecret.length >= MIN_HMAC_SECRET_BYTES, "hmacSecret",
            hmacSecret == null ? null : hmacSecret.length + " bytes", ">= " + MIN_HMAC_SECRET_BYTES + " bytes");
        hmacSecret = hmacSecret == null ? null : hmacSecret.clone();
    }

    /** A builder with every default filled in; only the session id is required. */
    public static Builder builder(final long sessionId)
    {
        return new Builder(sessionId);
    }

    @Override
    public byte[] hmacSecret()
    {
        return hmacSecret == null ? null : hmacSecret.clone();
    }

    public boolean authenticated()
    {
        return hmacSecret != null;
    }

    /** The media driver folder that every rank of this job on this host shares. */
    public Path driverDir()
    {
        return driverBaseDir.resolve(SharedMediaDriver.DIR_PREFIX + HexFormat.of().toHexDigits(sessionId));
    }

    @Override
    public boolean equals(final Object o)
    {
        return o instanceof CollectiveConfig c && sessionId == c.sessionId && timeoutMs == c.timeoutMs &&
            closeTimeoutMs == c.closeTimeoutMs && transport == c.transport && bindHost.equals(c.bindHost) &&
            bindPort == c.bindPort && mtuBytes == c.mtuBytes && termBufferBytes == c.termBufferBytes &&
            socketBufferBytes == c.socketBufferBytes && driverBaseDir.equals(c.driverBaseDir) &&
            streamId == c.streamId && Arrays.equals(hmacSecret, c.hmacSecret);
    }

    @Override
    public int hashCode()
    {
        return Long.hashCode(sessionId) * 31 + bindHost.hashCode();
    }

    @Override
    public String toString()
    {
        return "CollectiveConfig[sessionId=" + HexFormat.of().toHexDigits(sessionId) + ", timeoutMs=" + timeoutMs +
            ", transport=" + transport + ", bind=" + bindHost + ":" + bindPort + ", mtuBytes=" + mtuBytes +
            ", termBufferBytes=" + termBufferBytes + ", driverBaseDir=" + driverBaseDir +
            ", authenticated=" + authenticated() + "]";
    }

    /** Shared memory when the host has it (Aeron's own default), else the JVM's temp folder. */
    public static Path defaultDriverBaseDir()
    {
        final Path shm = Path.of("/dev/shm");
        return Files.isDirectory(shm) && Files.isWritable(shm) ? shm : Path.of(System.getProperty("java.io.tmpdir"));
    }

    private static void require(final boolean ok, final String field, final Object value, final String expected)
    {
        if (!ok)
        {
            throw new CollectiveConfigException(
                "invalid CollectiveConfig." + field + "=" + value + ": expected " + expected);
        }
    }

    /** Mutable builder; {@link #build()} validates through the record's constructor. */
    public static final class Builder
    {
        private final long sessionId;
        private long timeoutMs = DEFAULT_TIMEOUT_MS;
        private long closeTimeoutMs = DEFAULT_CLOSE_TIMEOUT_MS;
        private Transport transport = Transport.AUTO;
        private String bindHost = DEFAULT_BIND_HOST;
        private int bindPort;
        private int mtuBytes = DEFAULT_MTU_BYTES;
        private int termBufferBytes = DEFAULT_TERM_BUFFER_BYTES;
        private int socketBufferBytes = DEFAULT_SOCKET_BUFFER_BYTES;
        private Path driverBaseDir = defaultDriverBaseDir();
        private int streamId = DEFAULT_STREAM_ID;
        private byte[] hmacSecret;

        private Builder(final long sessionId)
        {
            this.sessionId = sessionId;
        }

        public Builder timeoutMs(final long timeoutMs)
        {
            this.timeoutMs = timeoutMs;
            return this;
        }

        public Builder closeTimeoutMs(final long closeTimeoutMs)
        {
            this.closeTimeoutMs = closeTimeoutMs;
            return this;
        }

        public Builder transport(final Transport transport)
        {
            this.transport = transport;
            return this;
        }

        public Builder bindHost(final String bindHost)
        {
            this.bindHost = bindHost;
            return this;
        }

        public Builder bindPort(final int bindPort)
        {
            this.bindPort = bindPort;
            return this;
        }

        public Builder mtuBytes(final int mtuBytes)
        {
            this.mtuBytes = mtuBytes;
            return this;
        }

        public Builder termBufferBytes(final int termBufferBytes)
        {
            this.termBufferBytes = termBufferBytes;
            return this;
        }

        public Builder socketBufferBytes(final int socketBufferBytes)
        {
            this.socketBufferBytes = socketBufferBytes;
            return this;
        }

        public Builder driverBaseDir(final Path driverBaseDir)
        {
            this.driverBaseDir = driverBaseDir;
            return this;
        }

        public Builder streamId(final int streamId)
        {
            this.streamId = streamId;
            return this;
        }

        public Builder hmacSecret(final byte[] hmacSecret)
        {
            this.hmacSecret = hmacSecret;
            return this;
        }

        public CollectiveConfig build()
        {
            return new CollectiveConfig(sessionId, timeoutMs, closeTimeoutMs, transport, bindHost, bindPort, mtuBytes,
                termBufferBytes, socketBufferBytes, driverBaseDir, streamId, hmacSecret);
        }
    }
}
