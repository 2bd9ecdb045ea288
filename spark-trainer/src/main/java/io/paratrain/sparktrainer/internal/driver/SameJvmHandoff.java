package io.paratrain.sparktrainer.internal.driver;

import io.paratrain.sparktrainer.internal.snapshot.ModelSnapshot;

import io.paratrain.sparktrainer.exceptions.TrainerException;

import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Hands the models of one fit between the driver and its tasks by reference when Spark runs both in one JVM
 * (local mode). Elsewhere the initial model is a broadcast and the final one comes back over
 * {@link ModelReceiver}'s socket; in one JVM those still cost their full price: a broadcast serializes and
 * LZ4-compresses the model into blocks (70-170 ms for a 5 MB model in a fresh JVM), and the socket encodes,
 * hashes and decodes the 15 MB final model with its Adam state (~100 ms). Both sit on the fit's critical path.
 * <p>
 * The driver opens one per fit ({@link #open}) and closes it when the fit ends; a task finds it by the fit's
 * session id. Nothing outside this JVM can reach it.
 */
public final class SameJvmHandoff implements AutoCloseable, ModelInbox
{
    private static final Map<Long, SameJvmHandoff> OPEN = new ConcurrentHashMap<>();

    private final long sessionId;
    private final ModelSnapshot initial;
    private final Map<String, ModelSnapshot> delivered = new ConcurrentHashMap<>();

    private SameJvmHandoff(final long sessionId, final ModelSnapshot initial)
    {
        this.sessionId = sessionId;
        this.initial = initial;
    }

    /** Makes {@code initial} available to the fit's tasks in this JVM until {@link #close()}. */
    public static SameJvmHandoff open(final long sessionId, final ModelSnapshot initial)
    {
        final SameJvmHandoff handoff = new SameJvmHandoff(sessionId, initial);
        if (OPEN.putIfAbsent(sessionId, handoff) != null)
        {
            throw new IllegalStateException("a fit with session " + Long.toHexString(sessionId) + " is already open");
        }
        return handoff;
    }

    /** The open handoff of the fit with {@code sessionId}, for a task that must be running in the driver's JVM. */
    public static SameJvmHandoff of(final long sessionId)
    {
        final SameJvmHandoff handoff = OPEN.get(sessionId);
        if (handoff == null)
        {
            throw new TrainerException("the fit (session " + Long.toHexString(sessionId) + ") passes its models " +
                "within the driver's JVM, as in Spark local mode, but this task runs where that fit is not open " +
                "(another JVM, or the fit has ended)");
        }
        return handoff;
    }

    public ModelSnapshot initial()
    {
        return initial;
    }

    /** Leaves rank 0's final model for the driver; the returned delivery is what the task reports to Spark. */
    public ModelSender.Delivery deliver(final ModelSnapshot model)
    {
        final byte[] key = new byte[16];
        new SecureRandom().nextBytes(key);
        delivered.put(HexFormat.of().formatHex(key), model);
        return new ModelSender.Delivery(key, null);
    }

    @Override
    public ModelSnapshot take(final byte[] key)
    {
        final ModelSnapshot model = delivered.remove(HexFormat.of().formatHex(key));
        if (model == null)
        {
            throw new TrainerException("rank 0 reported its final model as handed over within the driver's JVM, " +
                "but no such model was left");
        }
        return model;
    }

    @Override
    public void close()
    {
        OPEN.remove(sessionId, this);
        delivered.clear();
    }
}
