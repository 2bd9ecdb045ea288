package io.paratrain.sparktrainer.internal.stage;

import io.paratrain.sparktrainer.internal.channel.ChannelKey;

import io.paratrain.gradientsharing.AbortSignal;
import io.paratrain.gradientsharing.Collective;
import io.paratrain.gradientsharing.CollectiveConfig;
import io.paratrain.gradientsharing.RingRendezvous;
import io.paratrain.sparktrainer.exceptions.TrainerConfigException;
import io.paratrain.sparktrainer.exceptions.TrainerException;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.TaskContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;
import java.util.List;

/**
 * The rendezvous every barrier task of a fit makes: bind an Aeron endpoint on this executor's address, exchange
 * endpoints through {@link BarrierTaskContext#allGather} (every task calls it once, in the same order), connect
 * the ring. Rank = partition id, world size = number of tasks in the stage.
 * <p>
 * Binding starts a media driver when this host has none yet (hundreds of ms: it maps its files and the terms);
 * it touches no Spark state, so {@link #start} runs it on a thread of its own while the task thread reads its data
 * and restores its model, and {@link #connect} then waits for it (deadline: the collective timeout).
 */
public final class BarrierRing implements AutoCloseable
{
    private static final Logger LOG = LoggerFactory.getLogger(BarrierRing.class);

    private final BarrierTaskContext context;
    private final int rank;
    private final int worldSize;
    private final long timeoutMs;
    private final long startNs = System.nanoTime();
    private final BackgroundWork<RingRendezvous> bound;
    private boolean connected;

    private BarrierRing(final BarrierTaskContext context, final CollectiveConfig config, final long timeoutMs)
    {
        this.context = context;
        this.rank = context.partitionId();
        this.worldSize = context.getTaskInfos().length;
        this.timeoutMs = timeoutMs;
        this.bound = BackgroundWork.start("paratrain-ring-bind-" + rank, "binding the Aeron endpoint", rank,
            () -> RingRendezvous.bind(config, rank, worldSize));
    }

    /**
     * Starts binding this task's endpoint in the background.
     *
     * @param sessionId  the fit's session id; a retried stage attempt gets a session of its own, so frames of a
     *                   failed attempt can never mix into it.
     * @param channelKey whether the ring is HMAC-checked; the key is derived here, on the executor, for this
     *                   attempt's session.
     */
    public static BarrierRing start(final BarrierTaskContext context, final long sessionId,
        final ChannelKey channelKey, final long timeoutMs)
    {
        final long attemptSession = attemptSession(sessionId, context.stageAttemptNumber());
        final CollectiveConfig config = CollectiveConfig.builder(attemptSession)
            .bindHost(bindHost(context.getTaskInfos()[context.partitionId()].address()))
            .timeoutMs(timeoutMs)
            .hmacSecret(channelKey.derive(attemptSession))
            .build();
        return new BarrierRing(context, config, timeoutMs);
    }

    /**
     * For local mode, where the barrier tasks run in the driver's JVM: launches the media driver of the stage's
     * first attempt in the background now, while the driver prepares the fit. Measured for a 784-1000-500-10
     * fit in local[2]: the tasks no longer wait for their bind (100-150 ms before), and the first step ended
     * 1.25-1.39 s after the fit started, against 1.35-1.56 s. Close the result when the stage is over.
     */
    public static AutoCloseable prelaunchLocal(final long sessionId, final long timeoutMs)
    {
        return RingRendezvous.prelaunch(CollectiveConfig.builder(attemptSession(sessionId, 0)).timeoutMs(timeoutMs)
            .build());
    }

    private static long attemptSession(final long sessionId, final int stageAttempt)
    {
        return sessionId ^ ((long)stageAttempt << 32);
    }

    /** Binds, exchanges endpoints and connects in one go. */
    public static Collective connect(final BarrierTaskContext context, final long sessionId,
        final ChannelKey channelKey, final long timeoutMs)
    {
        try (BarrierRing ring = start(context, sessionId, channelKey, timeoutMs))
        {
            return ring.connect();
        }
    }

    /**
     * The host of the task's address as Spark gives it ({@code host:port} of the executor, the address Spark's
     * own RPC uses), which the ring binds to. A wildcard would accept frames on every interface of the host, so it
     * is refused: the executor then advertises no routable address of its own (see SPARK_LOCAL_IP).
     */
    public static String bindHost(final String taskAddress)
    {
        final int colon = taskAddress == null ? -1 : taskAddress.lastIndexOf(':');
        final String host = colon < 0 ? taskAddress : taskAddress.substring(0, colon);
        if (host == null || host.isBlank())
        {
            throw new TrainerConfigException("the task's executor address '" + taskAddress + "' has no host to " +
                "bind the gradient channel to");
        }
        final String bare = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
        if (isWildcard(bare))
        {
            throw new TrainerConfigException("the task's executor address is the wildcard " + host + ": the " +
                "gradient channel binds only to the executor's own address (set SPARK_LOCAL_IP or " +
                "spark.driver.host to a routable address)");
        }
        return host;
    }

    /** True for 0.0.0.0 and :: in any spelling; host names are not resolved (no DNS lookup here). */
    private static boolean isWildcard(final String host)
    {
        if (!host.matches("[0-9.]+|[0-9a-fA-F:.]*:[0-9a-fA-F:.]*"))
        {
            return false;
        }
        try
        {
            return InetAddress.getByName(host).isAnyLocalAddress(); // a literal: parsed, not looked up
        }
        catch (final UnknownHostException ex)
        {
            throw new TrainerConfigException("the task's executor address " + host + " is not a valid IP address");
        }
    }

    /** Waits for the bind, exchanges endpoints with every task and connects the ring; call once, on the task thread. */
    public Collective connect()
    {
        if (connected)
        {
            throw new IllegalStateException("rank " + rank + ": the ring is already connected");
        }
        final long waitStartNs = System.nanoTime();
        final RingRendezvous rendezvous = awaitBind();
        final long boundNs = System.nanoTime();
        connected = true;
        final List<String> endpoints;
        try
        {
            // Spark polls its barrier RPC once a second; PromptAllGather sees the answer within milliseconds.
            endpoints = Arrays.asList(PromptAllGather.allGather(context, rendezvous.endpoint().toString()));
        }
        catch (final RuntimeException ex)
        {
            rendezvous.close();
            throw ex;
        }
        final long gatheredNs = System.nanoTime();
        final Collective collective = rendezvous.abortWhen(killedBySpark(context)).connectText(endpoints);
        LOG.info("Rank {} of {} joined the ring: bind {} ms in the background (waited {} ms for it), " +
            "allGather {} ms, connect {} ms", rank, worldSize, (boundNs - startNs) / 1_000_000,
            (boundNs - waitStartNs) / 1_000_000, (gatheredNs - boundNs) / 1_000_000,
            (System.nanoTime() - gatheredNs) / 1_000_000);
        return collective;
    }

    /**
     * Spark's kill of this task as the collective's abort signal. When a peer's executor dies, Spark fails the
     * barrier stage and kills its other tasks by flag (without interrupting their threads unless the job asked for
     * it), while this rank may be waiting in the collective for the dead peer: the wait then ends within milliseconds
     * instead of at the no-progress timeout (120 s by default), and the task gives its slot back for the retry.
     */
    static AbortSignal killedBySpark(final TaskContext context)
    {
        return () -> context.isInterrupted() ? "Spark killed this task (stage " + context.stageId() + " attempt " +
            context.stageAttemptNumber() + "): the stage failed or was cancelled" : null;
    }

    private RingRendezvous awaitBind()
    {
        // The bind has deadlines of its own (media driver start, port resolution); this one is a backstop.
        return bound.await(2 * timeoutMs);
    }

    /** Releases the bound endpoint if {@link #connect} was never reached (the task failed before it). */
    @Override
    public void close()
    {
        if (!connected)
        {
            connected = true;
            // Closes now if the bind is done, else on the bind thread as soon as it is: the task never waits here.
            bound.whenDone(RingRendezvous::close);
        }
    }
}
