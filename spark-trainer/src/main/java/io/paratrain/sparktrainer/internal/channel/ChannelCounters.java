package io.paratrain.sparktrainer.internal.channel;

import io.paratrain.gradientsharing.CollectiveStats;
import io.paratrain.sparktrainer.ChannelReport;
import org.apache.spark.SparkContext;
import org.apache.spark.util.LongAccumulator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.Serializable;

/**
 * Brings every rank's count of refused frames to the driver: two Spark accumulators, fed from each task's
 * {@link CollectiveStats} before its collective closes (Spark merges the updates of tasks that succeed), and
 * read once the stage is done.
 */
public final class ChannelCounters implements Serializable
{
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(ChannelCounters.class);

    private final LongAccumulator rejectedMac;
    private final LongAccumulator foreignSession;

    private ChannelCounters(final LongAccumulator rejectedMac, final LongAccumulator foreignSession)
    {
        this.rejectedMac = rejectedMac;
        this.foreignSession = foreignSession;
    }

    /** On the driver, once per fit: the accumulators also show in the Spark UI's stage page. */
    public static ChannelCounters register(final SparkContext sc)
    {
        return new ChannelCounters(sc.longAccumulator("paratrain frames rejected (bad MAC)"),
            sc.longAccumulator("paratrain frames dropped (foreign session)"));
    }

    /** In a task, once, with its collective's final counters; also logged there when something was refused. */
    public void record(final int rank, final CollectiveStats stats)
    {
        rejectedMac.add(stats.rejectedMac());
        foreignSession.add(stats.droppedForeignSession());
        if (stats.rejectedMac() > 0 || stats.droppedForeignSession() > 0)
        {
            LOG.warn("Rank {}: the gradient channel refused {} frame(s) with a bad MAC and {} of a foreign session",
                rank, stats.rejectedMac(), stats.droppedForeignSession());
        }
    }

    /** On the driver after the stage: the sums over ranks, logged (WARN when anything was refused). */
    public ChannelReport report(final boolean authenticated, final String fit)
    {
        final ChannelReport report = new ChannelReport(authenticated, rejectedMac.value(), foreignSession.value());
        if (report.rejectedMacFrames() > 0 || report.foreignSessionFrames() > 0)
        {
            LOG.warn("{}: gradient channel {}", fit, report.describe());
        }
        else
        {
            LOG.info("{}: gradient channel {}", fit, report.describe());
        }
        return report;
    }
}
