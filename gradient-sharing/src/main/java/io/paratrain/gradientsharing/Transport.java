package io.paratrain.gradientsharing;

/** Which Aeron media carries a ring link. */
public enum Transport
{
    /**
     * {@code aeron:ipc} between neighbours that share a media driver (ranks on one host, in one JVM or in JVMs
     * that attached to the same driver directory), UDP unicast between all others. The default.
     */
    AUTO,
    /** UDP unicast on every link, even between ranks on one host. */
    UDP
}
