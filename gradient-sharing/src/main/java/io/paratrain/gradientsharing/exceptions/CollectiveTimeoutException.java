package io.paratrain.gradientsharing.exceptions;

/**
 * A peer made no progress within the configured timeout: it never joined, died or stalled.
 * Names the operation, the rank that was waited for and how long.
 */
public class CollectiveTimeoutException extends CollectiveException
{
    private final String operation;
    private final int peerRank;
    private final long waitedMs;

    public CollectiveTimeoutException(
        final String operation, final int rank, final int peerRank, final long waitedMs, final String detail)
    {
        super(operation + " on rank " + rank + ": no progress from rank " + peerRank + " for " + waitedMs +
            " ms (" + detail + ")");
        this.operation = operation;
        this.peerRank = peerRank;
        this.waitedMs = waitedMs;
    }

    public String operation()
    {
        return operation;
    }

    public int peerRank()
    {
        return peerRank;
    }

    public long waitedMs()
    {
        return waitedMs;
    }
}
