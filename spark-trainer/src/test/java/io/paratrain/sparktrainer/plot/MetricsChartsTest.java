package io.paratrain.sparktrainer.plot;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MetricsChartsTest
{
    @TempDir
    Path dir;

    @Test
    void readsStepsAndEvaluationsAndIgnoresOtherLines() throws Exception
    {
        final Path file = dir.resolve("m.jsonl");
        Files.write(file, List.of(
            "{\"type\":\"step\",\"epoch\":0,\"step\":0,\"global_step\":0,\"examples\":64,\"loss\":2.30000,\"step_ms\":40.0,\"communication_ms\":9.0,\"samples_per_s\":1600.0}",
            "{\"type\":\"step\",\"epoch\":0,\"step\":1,\"global_step\":1,\"examples\":64,\"loss\":1.5e-01,\"step_ms\":32.0,\"communication_ms\":9.0,\"samples_per_s\":2000.0}",
            "{\"type\":\"epoch\",\"epoch\":0,\"mean_loss\":1.2,\"samples_per_s\":1800.0}",
            "{\"type\":\"evaluation\",\"epochs\":1,\"global_step\":2,\"accuracy\":0.500000,\"precision\":0.5,\"recall\":0.5,\"f1\":0.5}",
            "{\"type\":\"evaluation\",\"accuracy\":0.750000,\"precision\":0.7,\"recall\":0.7,\"f1\":0.7}"));
        final MetricsLog log = MetricsLog.read(file);
        assertEquals(2, log.steps().size());
        assertArrayEquals(new double[] {1, 0.15, 2000}, log.steps().get(1));
        assertEquals(2, log.evaluations().size());
        assertArrayEquals(new double[] {2, 0.5}, log.evaluations().get(0));
        assertArrayEquals(new double[] {2, 0.75}, log.evaluations().get(1), "no global_step: after the last step");
    }

    @Test
    void writesDecodablePngsWithTheCurvesDrawn() throws Exception
    {
        final List<String> lines = new ArrayList<>();
        for (int s = 0; s < 60; s++)
        {
            lines.add(String.format(Locale.ROOT, "{\"type\":\"step\",\"epoch\":%d,\"step\":%d,\"global_step\":%d," +
                "\"examples\":64,\"loss\":%.5f,\"step_ms\":30.0,\"communication_ms\":5.0,\"samples_per_s\":%.1f}",
                s / 20, s % 20, s, 2.3 / (1 + s * 0.1), 2000 + 100 * Math.sin(s)));
            if (s % 20 == 19)
            {
                lines.add("{\"type\":\"evaluation\",\"epochs\":" + (s / 20 + 1) + ",\"global_step\":" + (s + 1) +
                    ",\"accuracy\":" + (0.8 + 0.05 * (s / 20)) + ",\"precision\":0,\"recall\":0,\"f1\":0}");
            }
        }
        final Path file = dir.resolve("m.jsonl");
        Files.write(file, lines);
        final List<Path> written = MetricsCharts.write(file, dir.resolve("charts"));
        assertEquals(List.of(dir.resolve("charts/loss.png"), dir.resolve("charts/throughput.png"),
            dir.resolve("charts/accuracy.png")), written);
        for (final Path png : written)
        {
            final BufferedImage image = ImageIO.read(png.toFile());
            assertEquals(MetricsCharts.WIDTH_PX, image.getWidth(), png.toString());
            assertEquals(MetricsCharts.HEIGHT_PX, image.getHeight(), png.toString());
            assertTrue(countSeriesBlue(image) > 50, png + " should show the first series' line in blue");
            final long bytes = Files.size(png);
            assertTrue(bytes > 5_000 && bytes < 200_000, png + " has " + bytes + " bytes");
        }
    }

    /** Pixels of the first series' colour (0x1f77b4, give or take antialiasing). */
    private static int countSeriesBlue(final BufferedImage image)
    {
        int count = 0;
        for (int y = 0; y < image.getHeight(); y++)
        {
            for (int x = 0; x < image.getWidth(); x++)
            {
                final int rgb = image.getRGB(x, y);
                final int r = (rgb >> 16) & 0xff;
                final int g = (rgb >> 8) & 0xff;
                final int b = rgb & 0xff;
                if (Math.abs(r - 0x1f) < 24 && Math.abs(g - 0x77) < 24 && Math.abs(b - 0xb4) < 24)
                {
                    count++;
                }
            }
        }
        return count;
    }
}
