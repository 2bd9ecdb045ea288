package io.paratrain.sparktrainer.plot;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The series a metrics file (job's {@code MetricsFile}: flat JSON objects, one a line) holds for charts. Lines of
 * other types and unknown fields are ignored, so older and newer files both read.
 *
 * @param steps        per step: global step, loss, samples/s.
 * @param evaluations  per evaluation: steps trained before it, test accuracy.
 */
public record MetricsLog(List<double[]> steps, List<double[]> evaluations)
{
    private static final Pattern FIELD = Pattern.compile("\"([a-z_]+)\":(\"[^\"]*\"|[-+0-9.eE]+|NaN|Infinity)");

    public MetricsLog
    {
        steps = List.copyOf(steps);
        evaluations = List.copyOf(evaluations);
    }

    public static MetricsLog read(final Path file)
    {
        final List<String> lines;
        try
        {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot read the metrics file " + file, ex);
        }
        final List<double[]> steps = new ArrayList<>();
        final List<double[]> evaluations = new ArrayList<>();
        for (final String line : lines)
        {
            final String type = text(line, "type");
            if ("step".equals(type))
            {
                steps.add(new double[] {number(line, "global_step"), number(line, "loss"),
                    number(line, "samples_per_s")});
            }
            else if ("evaluation".equals(type))
            {
                final double at = line.contains("\"global_step\"") ? number(line, "global_step") :
                    steps.isEmpty() ? 0 : steps.get(steps.size() - 1)[0] + 1;
                evaluations.add(new double[] {at, number(line, "accuracy")});
            }
        }
        return new MetricsLog(steps, evaluations);
    }

    private static String text(final String line, final String field)
    {
        final Matcher m = FIELD.matcher(line);
        while (m.find())
        {
            if (m.group(1).equals(field))
            {
                return m.group(2).replace("\"", "");
            }
        }
        return null;
    }

    private static double number(final String line, final String field)
    {
        final String value = text(line, field);
        if (value == null)
        {
            throw new IllegalArgumentException("metrics line without \"" + field + "\": " + line);
        }
        return Double.parseDouble(value);
    }
}
