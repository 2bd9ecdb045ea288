package io.paratrain.sparktrainer.cluster;

import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** What the standalone-cluster tests share: the job's settings on a loopback cluster and reading its logs. */
final class ClusterRuns
{
    static final Path CONF = Path.of("..", "conf").toAbsolutePath().normalize();
    /** A rank's log line after Spark retried the stage: (timestamp, step it resumed from). */
    static final Pattern RESUMED = Pattern.compile("(\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\.\\d{3}) INFO .*" +
        "Rank 0 resumes from checkpoint-(\\d{12})\\.ptcp .* after Spark retried the stage");

    private ClusterRuns()
    {
    }

    /** The template's settings plus what a loopback test cluster needs; callers may add to it. */
    static Map<String, String> loopbackConf(final StandaloneCluster cluster)
    {
        final String log4j = " -Dlog4j2.configurationFile=" + CONF.resolve("log4j2-cluster.properties");
        final Map<String, String> conf = new LinkedHashMap<>();
        conf.put("spark.executor.memory", "1g");
        conf.put("spark.executor.extraJavaOptions", "--add-exports java.base/jdk.internal.misc=ALL-UNNAMED" + log4j);
        conf.put("spark.executor.resource.gpu.discoveryScript", cluster.gpuScript().toString());
        conf.put("spark.driver.host", StandaloneCluster.HOST);
        conf.put("spark.driver.bindAddress", StandaloneCluster.HOST);
        conf.put("spark.ui.enabled", "false");
        conf.put("spark.shuffle.service.port", String.valueOf(cluster.shuffleServicePort()));
        return conf;
    }

    /** The last match of {@code pattern} over all {@code logs}, or null. */
    static Matcher lastMatch(final Pattern pattern, final Collection<String> logs)
    {
        Matcher last = null;
        for (final String log : logs)
        {
            final Matcher m = pattern.matcher(log);
            if (m.find())
            {
                last = m;
            }
        }
        return last;
    }

    /** A log4j timestamp ({@code yyyy-MM-dd HH:mm:ss.SSS}, this host's zone) in epoch milliseconds. */
    static long epochMillis(final String timestamp)
    {
        return LocalDateTime.parse(timestamp.replace(' ', 'T')).atZone(ZoneId.systemDefault()).toInstant()
            .toEpochMilli();
    }

    /** The end of a long output, for failure messages. */
    static String tail(final String text)
    {
        return text.substring(Math.max(0, text.length() - 6000));
    }
}
