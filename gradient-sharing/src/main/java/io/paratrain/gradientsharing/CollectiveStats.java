package io.paratrain.gradientsharing;

/**
 * Counters of one rank's collective since it connected. Frames that fail a check are dropped, never reduced:
 * {@code droppedForeignSession} had another job's session id, {@code rejectedMac} failed the HMAC check,
 * {@code droppedStale} belonged to an earlier operation or an unexpected sender, {@code droppedMalformed}
 * were not Paratrain frames at all.
 */
public record CollectiveStats(
    long framesSent,
    long framesReceived,
    long bytesSent,
    long bytesReceived,
    long droppedForeignSession,
    long rejectedMac,
    long droppedStale,
    long droppedMalformed)
{
}
