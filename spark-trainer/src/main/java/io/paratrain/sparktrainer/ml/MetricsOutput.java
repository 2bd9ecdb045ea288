package io.paratrain.sparktrainer.ml;

import io.paratrain.sparktrainer.TrainingListener;
import io.paratrain.sparktrainer.job.MetricsFile;
import io.paratrain.sparktrainer.plot.MetricsCharts;

import java.nio.file.Path;
import java.util.Optional;

/**
 * The Estimator's optional metrics file and charts: with a plot folder but no metrics path, the metrics go to
 * {@code <plotDir>/paratrain-metrics.jsonl}, since the charts are drawn from that file.
 */
final class MetricsOutput implements AutoCloseable
{
    static final String DEFAULT_FILE = "paratrain-metrics.jsonl";

    private final MetricsFile file;
    private final Path path;
    private final Path plotDir;

    private MetricsOutput(final Path path, final Path plotDir)
    {
        this.path = path;
        this.plotDir = plotDir;
        this.file = path == null ? null : new MetricsFile(path);
    }

    static MetricsOutput open(final String metricsPath, final String plotDir)
    {
        final Path plots = plotDir.isEmpty() ? null : Path.of(plotDir);
        final Path metrics = !metricsPath.isEmpty() ? Path.of(metricsPath) :
            plots != null ? plots.resolve(DEFAULT_FILE) : null;
        return new MetricsOutput(metrics, plots);
    }

    Optional<TrainingListener> listener()
    {
        return Optional.ofNullable(file);
    }

    /** Draws the charts from the (closed) metrics file, if a plot folder was asked for. */
    void plot()
    {
        if (plotDir != null)
        {
            MetricsCharts.write(path, plotDir);
        }
    }

    @Override
    public void close()
    {
        if (file != null)
        {
            file.close();
        }
    }
}
