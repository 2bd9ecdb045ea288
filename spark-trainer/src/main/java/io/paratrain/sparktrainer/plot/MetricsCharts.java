package io.paratrain.sparktrainer.plot;

import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * PNG charts of a metrics file over global steps: {@value #LOSS} (loss per step), {@value #THROUGHPUT} (samples/s
 * per step and its moving mean) and, when the file has evaluations, {@value #ACCURACY} (test accuracy).
 */
public final class MetricsCharts
{
    public static final String LOSS = "loss.png";
    public static final String THROUGHPUT = "throughput.png";
    public static final String ACCURACY = "accuracy.png";
    public static final int WIDTH_PX = 720;
    public static final int HEIGHT_PX = 400;
    /** Steps in the throughput's moving mean: single steps are noisy (JIT, GC, the other tasks on the host). */
    static final int MEAN_STEPS = 20;

    private MetricsCharts()
    {
    }

    /** Writes the charts of {@code metricsFile} into {@code folder} (created if needed); returns the files written. */
    public static List<Path> write(final Path metricsFile, final Path folder)
    {
        return write(MetricsLog.read(metricsFile), folder);
    }

    public static List<Path> write(final MetricsLog log, final Path folder)
    {
        // No display is needed to draw into an image; without this a JVM on a desktop may try to open one.
        System.setProperty("java.awt.headless", "true");
        final List<Path> written = new ArrayList<>();
        final XYSeries loss = new XYSeries("loss");
        final XYSeries throughput = new XYSeries("samples/s");
        final XYSeries meanThroughput = new XYSeries("mean of " + MEAN_STEPS + " steps");
        double window = 0;
        final List<double[]> steps = log.steps();
        for (int i = 0; i < steps.size(); i++)
        {
            final double[] s = steps.get(i);
            loss.add(s[0], s[1]);
            throughput.add(s[0], s[2]);
            window += s[2];
            if (i >= MEAN_STEPS)
            {
                window -= steps.get(i - MEAN_STEPS)[2];
            }
            if (i >= MEAN_STEPS - 1)
            {
                meanThroughput.add(s[0], window / MEAN_STEPS);
            }
        }
        written.add(save(lineChart("Training loss", "global step", "loss", false, loss), folder.resolve(LOSS)));
        written.add(save(lineChart("Throughput", "global step", "samples/s", false, throughput,
            meanThroughput),
            folder.resolve(THROUGHPUT)));
        if (!log.evaluations().isEmpty())
        {
            final XYSeries accuracy = new XYSeries("test accuracy");
            log.evaluations().forEach(e -> accuracy.add(e[0], e[1]));
            written.add(save(lineChart("Test accuracy", "global step", "accuracy", true, accuracy),
                folder.resolve(ACCURACY)));
        }
        return written;
    }

    /**
     * A line chart in the style of the files this class writes, for notebooks and reports: {@code series} share
     * the axes; with {@code points} every value is also marked. {@code chart.createBufferedImage(w, h)} draws it.
     */
    public static JFreeChart lineChart(final String title, final String xLabel, final String yLabel,
        final boolean points, final XYSeries... series)
    {
        final XYSeriesCollection data = new XYSeriesCollection();
        for (final XYSeries s : series)
        {
            data.addSeries(s);
        }
        final NumberAxis x = new NumberAxis(xLabel);
        final NumberAxis y = new NumberAxis(yLabel);
        y.setAutoRangeIncludesZero(false);
        final XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(true, points);
        final Color[] colors = {new Color(0x1f77b4), new Color(0xd62728)};
        for (int i = 0; i < series.length; i++)
        {
            renderer.setSeriesPaint(i, colors[i % colors.length]);
            renderer.setSeriesStroke(i, new BasicStroke(i == 0 ? 1.2f : 2.2f));
        }
        final XYPlot plot = new XYPlot(data, x, y, renderer);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(Color.LIGHT_GRAY);
        plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
        final JFreeChart chart = new JFreeChart(title, JFreeChart.DEFAULT_TITLE_FONT, plot, series.length > 1);
        chart.setBackgroundPaint(Color.WHITE);
        return chart;
    }

    private static Path save(final JFreeChart chart, final Path file)
    {
        try
        {
            Files.createDirectories(file.toAbsolutePath().getParent());
            ChartUtils.saveChartAsPNG(file.toFile(), chart, WIDTH_PX, HEIGHT_PX);
            return file;
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot write the chart " + file, ex);
        }
    }
}
