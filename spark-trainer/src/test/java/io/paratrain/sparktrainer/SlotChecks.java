package io.paratrain.sparktrainer;

import io.paratrain.sparktrainer.internal.stage.BarrierSlots;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.Logger;
import org.apache.logging.log4j.core.appender.AbstractAppender;
import org.apache.logging.log4j.core.config.Property;

import java.util.ArrayList;
import java.util.Collections;
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

    /** Code that may throw, for {@link #during}. */
    public interface Run
    {
        void run() throws Exception;
    }

    /** BarrierSlots' line for each check while {@code code} runs, in order. */
    public static List<String> during(final Run code) throws Exception
    {
        final List<String> lines = Collections.synchronizedList(new ArrayList<>());
        final AbstractAppender appender = new AbstractAppender("slot-checks-" + System.nanoTime(), null, null, true,
            Property.EMPTY_ARRAY)
        {
            @Override
            public void append(final LogEvent event)
            {
                lines.add(event.getMessage().getFormattedMessage());
            }
        };
        appender.start();
        final Logger logger = (Logger)LogManager.getLogger(BarrierSlots.class);
        final Level level = logger.getLevel();
        logger.addAppender(appender);
        logger.setLevel(Level.DEBUG);
        try
        {
            code.run();
        }
        finally
        {
            logger.setLevel(level);
            logger.removeAppender(appender);
            appender.stop();
        }
        return new ArrayList<>(lines);
    }
}
