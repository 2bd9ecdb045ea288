package io.paratrain.gradientsharing;

import io.aeron.Aeron;
import io.aeron.ChannelUriStringBuilder;
import io.aeron.ExclusivePublication;
import io.aeron.Subscription;
import io.paratrain.gradientsharing.exceptions.CollectiveConfigException;
import io.paratrain.gradientsharing.exceptions.CollectiveTimeoutException;
import io.paratrain.gradientsharing.internal.AeronCollective;
import io.paratrain.gradientsharing.internal.RingExchange;
import io.paratrain.gradientsharing.internal.RingLink;
import io.paratrain.gradientsharing.internal.WaitGuard;
import io.paratrain.gradientsharing.internal.SharedMediaDriver;
import org.agrona.CloseHelper;
import org.agrona.concurrent.NanoClock;
import org.agrona.concurrent.SystemNanoClock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Turns one endpoint per rank into a connected ring, in two steps so that any exchange mechanism can sit
 * between them (Spark's {@code BarrierTaskContext.allGather}, {@link FileRendezvous}, a test's list):
 * <pre>{@code
 * RingRendezvous rendezvous = RingRendezvous.bind(config, rank, worldSize);
 * List<Endpoint> all = exchange(rendezvous.endpoint());      // one per rank, ordered by rank
 * try (Collective collective = rendezvous.connect(all)) { ... }
 * }</pre>
 * {@link #bind} attaches to this host's shared media driver and binds the UDP subscription (port 0 gives an
 * ephemeral port; the endpoint carries the real one). {@link #connect} publishes to the right neighbour and
 * completes a handshake with every rank, or throws within the configured timeout naming the missing rank.
 */
public final class RingRendezvous implements AutoCloseable
{
    private static final Logger LOG = LoggerFactory.getLogger(RingRendezvous.class);

    private final CollectiveConfig config;
    private final int rank;
    private final int worldSize;
    private final SharedMediaDriver driver;
    private final Subscription udpSubscription;
    private final Endpoint endpoint;
    private volatile AbortSignal abortSignal = AbortSignal.NEVER;
    private NanoClock clock = SystemNanoClock.INSTANCE;
    private boolean handedOver;
    private boolean closed;

    private RingRendezvous(final CollectiveConfig config, final int rank, final int worldSize,
        final SharedMediaDriver driver, final Subscription udpSubscription, final Endpoint endpoint)
    {
        this.config = config;
        this.rank = rank;
        this.worldSize = worldSize;
        this.driver = driver;
        this.udpSubscription = udpSubscription;
        this.endpoint = endpoint;
    }

    /**
     * Starts this host's media driver for {@code config} in the background, for ranks that will {@link #bind} in
     * this JVM soon (its launch in a fresh JVM, 200-300 ms, then overlaps other start-up work). Close the result
     * once those ranks are done, or when they will not come: it stops a driver that no rank took over.
     */
    public static AutoCloseable prelaunch(final CollectiveConfig config)
    {
        return SharedMediaDriver.prelaunch(config.driverDir(), config.timeoutMs(), config.closeTimeoutMs());
    }

    /** Attaches to the media driver and binds this rank's receiving end. */
    public static RingRendezvous bind(final CollectiveConfig config, final int rank, final int worldSize)
    {
        if (config == null)
        {
            throw new CollectiveConfigException("config is null");
        }
        if (worldSize < 1 || rank < 0 || rank >= worldSize)
        {
            throw new CollectiveConfigException("invalid rank " + rank + " for world size " + worldSize +
                ": expected worldSize >= 1 and 0 <= rank < worldSize");
        }
        final SharedMediaDriver driver = SharedMediaDriver.acquire(config.driverDir(), config.timeoutMs());
        Subscription subscription = null;
        try
        {
            subscription = driver.aeron().addSubscription(new ChannelUriStringBuilder()
                .media("udp")
                .endpoint(config.bindHost() + ":" + config.bindPort())
                .socketRcvbufLength(config.socketBufferBytes())
                .receiverWindowLength(config.socketBufferBytes())
                .build(), config.streamId());
            final String resolved = awaitResolvedEndpoint(subscription, config, rank);
            final int port = Integer.parseInt(resolved.substring(resolved.lastIndexOf(':') + 1));
            final String driverId = config.transport() == Transport.AUTO ? driver.driverId() : "";
            final Endpoint endpoint = new Endpoint(config.bindHost(), port, driverId);
            LOG.debug("Rank {} of {} bound {}", rank, worldSize, endpoint);
            return new RingRendezvous(config, rank, worldSize, driver, subscription, endpoint);
        }
        catch (final RuntimeException ex)
        {
            CloseHelper.quietClose(subscription);
            driver.release(0);
            throw ex;
        }
    }

    /**
     * Makes every wait of the handshake and of the collective that {@link #connect} returns end as soon as
     * {@code signal} gives a reason (see {@link AbortSignal}); call before {@link #connect}.
     */
    public RingRendezvous abortWhen(final AbortSignal signal)
    {
        if (signal == null)
        {
            throw new CollectiveConfigException("rank " + rank + ": the abort signal is null (use AbortSignal.NEVER)");
        }
        this.abortSignal = signal;
        return this;
    }

    /**
     * Test seam: the clock that every deadline, no-progress and blame decision of the ring reads (the handshake's
     * and the collective's), so that tests can run them on simulated time; call before {@link #connect}.
     */
    RingRendezvous clock(final NanoClock ringClock)
    {
        this.clock = ringClock;
        return this;
    }

    /** This rank's endpoint, to be shared with every other rank. */
    public Endpoint endpoint()
    {
        return endpoint;
    }

    public int rank()
    {
        return rank;
    }

    public int worldSize()
    {
        return worldSize;
    }

    /** Connects with {@code endpoints} given as text ({@code host:port[/driverId]}), ordered by rank. */
    public Collective connectText(final List<String> endpoints)
    {
        final List<Endpoint> parsed = new ArrayList<>(endpoints.size());
        for (final String text : endpoints)
        {
            parsed.add(Endpoint.parse(text));
        }
        return connect(parsed);
    }

    /**
     * Connects the ring and shakes hands with every rank. {@code endpoints} holds one endpoint per rank,
     * ordered by rank, and must be the same list on every rank.
     */
    public Collective connect(final List<Endpoint> endpoints)
    {
        if (handedOver || closed)
        {
            throw new CollectiveConfigException("rank " + rank + ": connect may be called once per bind");
        }
        validate(endpoints);
        handedOver = true;
        final Endpoint left = endpoints.get(Math.floorMod(rank - 1, worldSize));
        final Endpoint right = endpoints.get(Math.floorMod(rank + 1, worldSize));
        final Aeron aeron = driver.aeron();
        Subscription subscription = udpSubscription;
        ExclusivePublication publication = null;
        AeronCollective collective = null;
        try
        {
            RingLink link = null;
            if (worldSize > 1)
            {
                if (usesIpc(left))
                {
                    subscription = aeron.addSubscription("aeron:ipc", ipcStreamId(rank));
                    CloseHelper.close(udpSubscription);
                }
                final String channel = publicationChannel(right);
                final int streamId = usesIpc(right) ? ipcStreamId(Math.floorMod(rank + 1, worldSize)) :
                    config.streamId();
                publication = aeron.addExclusivePublication(channel, streamId);
                link = new RingLink(subscription, publication, channel + " (rank " + (rank + 1) % worldSize + ")");
            }
            else
            {
                CloseHelper.close(udpSubscription);
            }
            final RingExchange exchange = new RingExchange(link, rank, worldSize, config.sessionId(),
                config.timeoutMs(), config.hmacSecret(), new WaitGuard(abortSignal, worldSize > 1 ? driver : null),
                clock);
            collective = new AeronCollective(rank, worldSize, link, exchange, driver, config.closeTimeoutMs());
            checkHandshake(collective.handshake(endpoint.toString().getBytes(StandardCharsets.UTF_8)), endpoints);
            // Where this rank receives (channel, stream, media driver folder) is logged so an operator can see what
            // listens on the host; it is no secret: frames are checked by session id and, if configured, HMAC.
            LOG.info("Rank {} of {} connected: receives from {} over {} ({} stream {}, media driver {}), sends to {} " +
                "over {}{}", rank, worldSize, left, worldSize > 1 && usesIpc(left) ? "ipc" : "udp",
                worldSize > 1 ? subscription.channel() : "-", worldSize > 1 ? subscription.streamId() : 0,
                config.driverDir(), right, worldSize > 1 && usesIpc(right) ? "ipc" : "udp",
                config.authenticated() ? ", HMAC-checked" : "");
            return collective;
        }
        catch (final RuntimeException ex)
        {
            if (collective != null)
            {
                collective.close();
            }
            else
            {
                CloseHelper.quietCloseAll(publication, subscription, udpSubscription);
                driver.release(config.closeTimeoutMs());
            }
            throw ex;
        }
    }

    /** Releases what {@link #bind} took if {@link #connect} was never called or failed before the hand-over. */
    @Override
    public void close()
    {
        if (!handedOver && !closed)
        {
            closed = true;
            CloseHelper.quietClose(udpSubscription);
            driver.release(config.closeTimeoutMs());
        }
    }

    private boolean usesIpc(final Endpoint peer)
    {
        return config.transport() == Transport.AUTO && endpoint.sharesDriverWith(peer);
    }

    private String publicationChannel(final Endpoint right)
    {
        final ChannelUriStringBuilder builder = new ChannelUriStringBuilder()
            .mtu(config.mtuBytes())
            .termLength(config.termBufferBytes());
        if (usesIpc(right))
        {
            return builder.media("ipc").build();
        }
        return builder.media("udp")
            .endpoint(right.address())
            .socketSndbufLength(config.socketBufferBytes())
            .build();
    }

    private int ipcStreamId(final int receiverRank)
    {
        return config.streamId() + 1 + receiverRank;
    }

    private void validate(final List<Endpoint> endpoints)
    {
        if (endpoints == null || endpoints.size() != worldSize)
        {
            throw new CollectiveConfigException("rank " + rank + ": expected " + worldSize + " endpoints, got " +
                (endpoints == null ? "null" : endpoints.size() + ": " + endpoints));
        }
        if (!endpoint.equals(endpoints.get(rank)))
        {
            throw new CollectiveConfigException("rank " + rank + ": endpoint " + rank + " in the list is " +
                endpoints.get(rank) + " but this rank bound " + endpoint);
        }
    }

    private void checkHandshake(final byte[][] gathered, final List<Endpoint> endpoints)
    {
        for (int r = 0; r < worldSize; r++)
        {
            final String theirs = new String(gathered[r], StandardCharsets.UTF_8);
            if (!theirs.equals(endpoints.get(r).toString()))
            {
                throw new CollectiveConfigException("rank " + rank + ": rank " + r + " reports endpoint " + theirs +
                    " but this rank's list has " + endpoints.get(r) + "; every rank must get the same list");
            }
        }
    }

    private static String awaitResolvedEndpoint(final Subscription subscription, final CollectiveConfig config,
        final int rank)
    {
        final long startNs = System.nanoTime();
        final long timeoutNs = TimeUnit.MILLISECONDS.toNanos(config.timeoutMs());
        String resolved;
        while ((resolved = subscription.resolvedEndpoint()) == null)
        {
            final long waitedNs = System.nanoTime() - startNs;
            if (waitedNs > timeoutNs)
            {
                throw new CollectiveTimeoutException("bind", rank, rank, TimeUnit.NANOSECONDS.toMillis(waitedNs),
                    "the media driver did not bind " + config.bindHost() + ":" + config.bindPort() +
                    " (channel status " + subscription.channelStatus() + ")");
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
        }
        return resolved;
    }
}
