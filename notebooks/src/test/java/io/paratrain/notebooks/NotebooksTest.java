package io.paratrain.notebooks;

import org.nd4j.shade.jackson.databind.JsonNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Executes the notebooks headlessly (Debian's nbconvert, the rapaio Java kernel, local Spark) and checks what they
 * printed and drew. Without Jupyter it fails, naming the setup command; it never skips.
 */
@Tag("slow")
@Timeout(3600)
class NotebooksTest
{
    @TempDir
    static Path home;
    private static NotebookRunner runner;

    @BeforeAll
    static void kernel() throws Exception
    {
        runner = NotebookRunner.create(home);
    }

    @Test
    void quickStartTrainsAboveTheAccuracyFloorAndPlots() throws Exception
    {
        final JsonNode notebook = runner.execute("01-quick-start.ipynb");
        final String all = allText(notebook);
        assertTrue(all.contains("training rows: 8000, test rows: 2000"), all);

        final List<String> perEpoch = matches(all, "(\\d) epoch\\(s\\): test accuracy (\\d\\.\\d{4})");
        assertEquals(List.of("1", "2", "3"), perEpoch.stream().map(m -> m.split(" ")[0]).toList(), all);
        final String accuracy = single(all, "accuracy=(\\d\\.\\d{4}) f1=");
        assertTrue(Double.parseDouble(accuracy) > 0.90, "accuracy " + accuracy);
        assertEquals(accuracy, perEpoch.get(2).split(" ")[1], "the evaluated model is the 3-epoch one");
        assertEquals(accuracy, single(all, "loaded model: accuracy=(\\d\\.\\d{4})"),
            "the saved and loaded model predicts the same");
        assertTrue(all.contains("accuracy above 0.9: ok"), all);
        final String removed = single(all, "removed (\\S+): true");
        assertFalse(java.nio.file.Files.exists(Path.of(removed)), "the notebook's temporary model folder is gone");

        final List<BufferedImage> charts = images(notebook);
        assertEquals(2, charts.size(), "loss and accuracy charts");
        for (final BufferedImage chart : charts)
        {
            assertEquals(720, chart.getWidth());
            assertEquals(360, chart.getHeight());
        }
    }

    @Test
    void modelSplitAgainstDataParallelShowsStepTimesAndBytes() throws Exception
    {
        final JsonNode notebook = runner.execute("02-model-split.ipynb");
        final String all = allText(notebook);
        assertTrue(all.contains("examples: 8000"), all);
        assertTrue(all.contains("parameters: 1628170"), all);
        // 2 (N-1) x 4P = 8 x 1,628,170; model split: 16 + layer 0 (200,704 + 262,144 + 524,288) + layer 1
        // (524,288 + 1,280 + 2,560 + 524,288), as in model-split's StepTraffic without frame headers.
        assertTrue(all.contains("bytes per step: data-parallel 13,025,360, model-split 2,039,568"), all);
        final String[] times = single(all, "step time: data-parallel ([0-9.]+) ms, model-split ([0-9.]+) ms " +
            "\\(125 steps per epoch\\)").split(" ");
        assertTrue(Double.parseDouble(times[0]) > 0 && Double.parseDouble(times[1]) > 0, all);
        final List<BufferedImage> charts = images(notebook);
        assertEquals(2, charts.size(), "step time and bytes charts");
        assertEquals(480, charts.get(0).getWidth());
    }

    @Test
    void dl4jMastersComparisonShowsTheBenchmarkTableAndChart() throws Exception
    {
        final JsonNode notebook = runner.execute("03-dl4j-masters.ipynb");
        final String all = allText(notebook);
        assertTrue(all.contains("8 runs from data/bench-train-readme.txt"), all);
        assertTrue(all.contains("mlp-784-1000-500-10    | 6,063/s, 0.9535"), all);
        assertTrue(all.contains("| 5,493/s, 0.9535"), all);
        // The README's ratios, recomputed from the lines: 5493.4 / 6063.4 and 5493.4 / 1771.5.
        assertTrue(all.contains("mlp-784-1000-500-10 allreduce_vs_single=0.906 allreduce_vs_paramavg=3.101"), all);
        final List<BufferedImage> charts = images(notebook);
        assertEquals(1, charts.size());
        assertEquals(760, charts.get(0).getWidth());
        assertEquals(400, charts.get(0).getHeight());
    }

    static String allText(final JsonNode notebook)
    {
        final StringBuilder text = new StringBuilder();
        notebook.path("cells").forEach(cell -> text.append(NotebookRunner.text(cell)));
        return text.toString();
    }

    static List<BufferedImage> images(final JsonNode notebook) throws Exception
    {
        final List<BufferedImage> images = new ArrayList<>();
        for (final JsonNode cell : notebook.path("cells"))
        {
            for (final byte[] png : NotebookRunner.images(cell))
            {
                images.add(ImageIO.read(new ByteArrayInputStream(png)));
            }
        }
        return images;
    }

    /** Every match of {@code regex}, its groups joined by spaces. */
    static List<String> matches(final String text, final String regex)
    {
        final List<String> found = new ArrayList<>();
        final Matcher m = Pattern.compile(regex).matcher(text);
        while (m.find())
        {
            final List<String> groups = new ArrayList<>();
            for (int g = 1; g <= m.groupCount(); g++)
            {
                groups.add(m.group(g));
            }
            found.add(String.join(" ", groups));
        }
        return found;
    }

    static String single(final String text, final String regex)
    {
        final List<String> found = matches(text, regex);
        assertEquals(1, found.size(), "exactly one match of " + regex + " in:\n" + text);
        return found.get(0);
    }
}
