package io.paratrain.sparktrainer;

import io.paratrain.sparktrainer.internal.stage.BarrierSlots;
import org.apache.logging.log4j.Level;

import java.util.List;

/**
 * Test support: the task-slot checks made while some code runs, as the line {@link BarrierSlots} logs (at debug
 * level) for each, e.g. "training with 2 workers needs 2 task slots, the cluster has 2".
 */
public final class SlotChecks
{
    private SlotChecks()
    {
    }

    /** BarrierSlots' line for each check while {@code code} runs, in order. */
    public static List<String> during(final LogLines.Run code) throws Exception
    {
        return LogLines.during(BarrierSlots.class, Level.DEBUG, code);
    }
}
