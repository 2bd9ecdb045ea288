package io.paratrain.sparktrainer.internal;

import io.paratrain.gradientsharing.Collective;
import io.paratrain.gradientsharing.CollectiveConfig;
import io.paratrain.gradientsharing.RingRendezvous;
import org.apache.spark.BarrierTaskContext;

import java.util.Arrays;
import java.util.List;

/**
 * The rendezvous every barrier task of a fit makes: bind an Aeron endpoint on this executor's address, exchange
 * endpoints through {@link BarrierTaskContext#allGather} (every task calls it once, in the same order), connect
 * the ring. Rank = partition id, world size = number of tasks in the stage.
 */
public final class BarrierRing
{
    private BarrierRing()
    {
    }

    /**
     * @param sessionId the fit's session id; a retried stage attempt gets a session of its own, so frames of a
     *                  failed attempt can never mix into it.
     * @param secret    the fit's HMAC secret (shared through the task closure).
     */
    public static Collective connect(final BarrierTaskContext context, final long sessionId, final byte[] secret,
        final long timeoutMs)
    {
        final int rank = context.partitionId();
        final int worldSize = context.getTaskInfos().length;
        final String address = context.getTaskInfos()[rank].address();
        final long attemptSession = sessionId ^ ((long)context.stageAttemptNumber() << 32);
        final CollectiveConfig config = CollectiveConfig.builder(attemptSession)
            .bindHost(address.substring(0, address.lastIndexOf(':')))
            .timeoutMs(timeoutMs)
            .hmacSecret(secret)
            .build();
        final RingRendezvous rendezvous = RingRendezvous.bind(config, rank, worldSize);
        final List<String> endpoints;
        try
        {
            // Spark's barrier RPC answers on a ~1 s polling tick: this call costs about a second per fit.
            endpoints = Arrays.asList(context.allGather(rendezvous.endpoint().toString()));
        }
        catch (final RuntimeException ex)
        {
            rendezvous.close();
            throw ex;
        }
        return rendezvous.connectText(endpoints);
    }
}
