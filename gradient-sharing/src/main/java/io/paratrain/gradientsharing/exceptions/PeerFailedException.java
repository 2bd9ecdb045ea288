package io.paratrain.gradientsharing.exceptions;

/**
 * Another rank failed an operation and told the ring; this rank stops too instead of waiting for a timeout.
 * {@link #failedRank()} is the rank that failed, or that a rank timed out waiting for; {@link #getMessage()}
 * carries the reason reported by the rank that noticed.
 */
public class PeerFailedException extends CollectiveException
{
    private final int failedRank;

    public PeerFailedException(final String operation, final int rank, final int failedRank, final String reason)
    {
        super(operation + " on rank " + rank + " aborted: rank " + failedRank + " failed: " + reason);
        this.failedRank = failedRank;
    }

    public int failedRank()
    {
        return failedRank;
    }
}
