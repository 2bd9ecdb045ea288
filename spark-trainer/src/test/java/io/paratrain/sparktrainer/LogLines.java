package io.paratrain.sparktrainer;

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
 * Test support: the lines one class logs while some code runs, for tests that check what the code said it did
 * (which path a fit took, which task-slot checks it made).
 */
public final class LogLines
{
    private LogLines()
    {
    }

    /** Code that may throw, for {@link #during}. */
    public interface Run
    {
        void run() throws Exception;
    }

    /**
     * The messages {@code source}'s logger writes while {@code code} runs, in order, its level set to {@code level}
     * meanwhile (debug lines are off in the tests' log configuration) and restored after.
     */
    public static List<String> during(final Class<?> source, final Level level, final Run code) throws Exception
    {
        // Spark's and the trainer's threads may log at once: the appender adds to a synchronized list.
        final List<String> lines = Collections.synchronizedList(new ArrayList<>());
        final AbstractAppender appender = new AbstractAppender("log-lines-" + System.nanoTime(), null, null, true,
            Property.EMPTY_ARRAY)
        {
            @Override
            public void append(final LogEvent event)
            {
                lines.add(event.getMessage().getFormattedMessage());
            }
        };
        appender.start();
        final Logger logger = (Logger)LogManager.getLogger(source);
        final Level before = logger.getLevel();
        logger.addAppender(appender);
        logger.setLevel(level);
        try
        {
            code.run();
        }
        finally
        {
            logger.setLevel(before);
            logger.removeAppender(appender);
            appender.stop();
        }
        return new ArrayList<>(lines);
    }
}
