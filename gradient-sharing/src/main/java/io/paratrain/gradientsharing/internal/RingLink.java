package io.paratrain.gradientsharing.internal;

import io.aeron.ExclusivePublication;
import io.aeron.Publication;
import io.aeron.Subscription;
import io.aeron.logbuffer.BufferClaim;
import io.aeron.logbuffer.ControlledFragmentHandler;
import io.paratrain.gradientsharing.exceptions.TransportException;
import org.agrona.CloseHelper;
import org.agrona.MutableDirectBuffer;

/**
 * This rank's two Aeron ends of the ring: an exclusive publication to the right neighbour and a subscription
 * that the left neighbour publishes to. Frames are written in place with {@code tryClaim}; every result code
 * of the claim is handled: back-pressure and admin actions report "not sent" so the caller keeps receiving and
 * retries, not-connected does the same until the caller's deadline, closed and max-position throw.
 */
public final class RingLink implements AutoCloseable
{
    /** What {@link #trySend} reported when the frame did not go out. */
    public enum Blocked
    {
        NONE, BACK_PRESSURED, NOT_CONNECTED
    }

    private final Subscription subscription;
    private final ExclusivePublication publication;
    private final String publicationChannel;
    private final BufferClaim claim = new BufferClaim();
    private Blocked lastBlocked = Blocked.NONE;

    public RingLink(final Subscription subscription, final ExclusivePublication publication,
        final String publicationChannel)
    {
        this.subscription = subscription;
        this.publication = publication;
        this.publicationChannel = publicationChannel;
    }

    public int maxPayloadLength()
    {
        return publication.maxPayloadLength();
    }

    /**
     * Claims {@code frameLength} bytes in the publication. On success the frame's buffer and offset are
     * {@link #claimBuffer()} / {@link #claimOffset()} and the caller must {@link #commit()}; otherwise
     * {@link #lastBlocked()} says why and the caller should make progress elsewhere and retry.
     */
    public boolean tryClaim(final int frameLength)
    {
        while (true)
        {
            final long result = publication.tryClaim(frameLength, claim);
            if (result > 0)
            {
                lastBlocked = Blocked.NONE;
                return true;
            }
            if (result == Publication.ADMIN_ACTION)
            {
                continue; // term rotation in progress: retry at once
            }
            if (result == Publication.BACK_PRESSURED)
            {
                lastBlocked = Blocked.BACK_PRESSURED;
                return false;
            }
            if (result == Publication.NOT_CONNECTED)
            {
                lastBlocked = Blocked.NOT_CONNECTED;
                return false;
            }
            if (result == Publication.CLOSED)
            {
                throw new TransportException("publication to " + publicationChannel + " is closed");
            }
            if (result == Publication.MAX_POSITION_EXCEEDED)
            {
                throw new TransportException("publication to " + publicationChannel +
                    " reached its maximum position; the term buffer is too small for this job");
            }
            throw new TransportException("unexpected tryClaim result " + result + " on " + publicationChannel);
        }
    }

    public MutableDirectBuffer claimBuffer()
    {
        return claim.buffer();
    }

    public int claimOffset()
    {
        return claim.offset();
    }

    public void commit()
    {
        claim.commit();
    }

    /** Gives a claimed frame back as padding; used when filling it failed. */
    public void abortClaim()
    {
        claim.abort();
    }

    public Blocked lastBlocked()
    {
        return lastBlocked;
    }

    public int poll(final ControlledFragmentHandler handler, final int fragmentLimit)
    {
        return subscription.controlledPoll(handler, fragmentLimit);
    }

    @Override
    public void close()
    {
        CloseHelper.closeAll(publication, subscription);
    }
}
