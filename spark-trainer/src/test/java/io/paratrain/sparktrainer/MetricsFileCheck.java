package io.paratrain.sparktrainer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Checks a job's metrics file after a fit that was interrupted and resumed: every line is a JSON object, every
 * (epoch, step) appears exactly once and in order, and every epoch's mean loss is the mean of that epoch's step
 * losses in the file.
 */
public final class MetricsFileCheck
{
    /**
     * The file writes losses with 6 significant digits ({@code %.6g}), so the mean of the written step losses and
     * the written mean can differ by the rounding of each: 5e-6 relative per value.
     */
    private static final double FORMAT_TOLERANCE = 2e-5;
    /** One member of a flat JSON object: a string key and a string, number (RFC 8259) or literal value. */
    private static final Pattern MEMBER = Pattern.compile("\"([^\"\\\\]*)\":(\"[^\"\\\\]*\"|" +
        "-?(?:0|[1-9][0-9]*)(?:\\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|true|false|null)(,|})");

    private MetricsFileCheck()
    {
    }

    /** The step losses by epoch, in step order, after all checks passed. */
    public static TreeMap<Integer, List<Double>> assertEachStepOnceAndEpochMeansCoverAllSteps(final Path file,
        final int epochs, final int stepsPerEpoch) throws IOException
    {
        final List<String> lines = Files.readAllLines(file);
        final TreeMap<Integer, List<Double>> losses = new TreeMap<>();
        final TreeMap<Integer, Double> means = new TreeMap<>();
        long expectedGlobal = 0;
        for (int i = 0; i < lines.size(); i++)
        {
            final Map<String, String> line = flatObject(lines.get(i));
            assertTrue(line != null && line.containsKey("type"), file + " line " + (i + 1) + " is not a flat JSON " +
                "object with a type: '" + lines.get(i) + "'");
            switch (line.get("type"))
            {
                case "step" ->
                {
                    final int epoch = Integer.parseInt(line.get("epoch"));
                    final int step = Integer.parseInt(line.get("step"));
                    final long global = Long.parseLong(line.get("global_step"));
                    assertEquals(expectedGlobal, global, "line " + (i + 1) + " (every step once, in order): " +
                        lines.get(i) + "\n" + String.join("\n", lines));
                    assertEquals(global, (long)epoch * stepsPerEpoch + step, "line " + (i + 1));
                    expectedGlobal++;
                    losses.computeIfAbsent(epoch, e -> new ArrayList<>()).add(Double.parseDouble(line.get("loss")));
                }
                case "epoch" ->
                {
                    final int epoch = Integer.parseInt(line.get("epoch"));
                    assertEquals(null, means.put(epoch, Double.parseDouble(line.get("mean_loss"))),
                        "epoch " + epoch + " appears twice");
                    assertEquals((long)(epoch + 1) * stepsPerEpoch, expectedGlobal,
                        "epoch " + epoch + "'s line does not follow its last step");
                }
                default ->
                {
                    // evaluation and channel lines
                }
            }
        }
        assertEquals((long)epochs * stepsPerEpoch, expectedGlobal, "steps in " + file);
        assertEquals(epochs, means.size(), "epoch lines in " + file);
        for (final var epoch : means.entrySet())
        {
            final List<Double> stepLosses = losses.get(epoch.getKey());
            final double mean = stepLosses.stream().mapToDouble(Double::doubleValue).sum() / stepLosses.size();
            if (Math.abs(mean - epoch.getValue()) > FORMAT_TOLERANCE * Math.abs(mean))
            {
                fail("epoch " + epoch.getKey() + ": mean_loss " + epoch.getValue() + " but its " + stepLosses.size() +
                    " steps in the file average " + mean);
            }
        }
        return losses;
    }

    /** The members of a one-line JSON object without nesting (strings unquoted), or null if it is not one. */
    static Map<String, String> flatObject(final String text)
    {
        if (!text.startsWith("{") || text.equals("{}"))
        {
            return text.equals("{}") ? Map.of() : null;
        }
        final Map<String, String> members = new LinkedHashMap<>();
        final Matcher m = MEMBER.matcher(text);
        int at = 1;
        while (at < text.length())
        {
            if (!m.find(at) || m.start() != at || members.containsKey(m.group(1)))
            {
                return null;
            }
            final String value = m.group(2);
            members.put(m.group(1), value.startsWith("\"") ? value.substring(1, value.length() - 1) : value);
            at = m.end();
            if (m.group(3).equals("}"))
            {
                return at == text.length() ? members : null;
            }
        }
        return null;
    }
}
