package io.paratrain.sparktrainer.conf;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.config.Configuration;

/**
 * Child-JVM main for ConfTemplatesTest: prints where log4j2 found its configuration at start-up and the levels it
 * gives the root logger and Paratrain's.
 */
public final class LogConfigurationProbe
{
    private LogConfigurationProbe()
    {
    }

    public static void main(final String[] args)
    {
        final Configuration configuration = ((LoggerContext)LogManager.getContext(false)).getConfiguration();
        System.out.println("location=" + configuration.getConfigurationSource().getLocation() + " root=" +
            configuration.getRootLogger().getLevel() + " paratrain=" +
            configuration.getLoggerConfig("io.paratrain.sparktrainer").getLevel());
    }
}
