package io.paratrain.sparktrainer.job;

import io.paratrain.sparktrainer.exceptions.BadRecordException;

import java.io.Serializable;

/**
 * The rules every example obeys, with the messages that name what was expected and found: {@code features}
 * features, finite after {@code scale}, and an integer label in 0..classes-1; and the parsers of one CSV or LibSVM
 * line, which name the field or token as it was written.
 */
final class RecordChecks implements Serializable
{
    private static final long serialVersionUID = 1L;
    private final int features;
    private final int classes;
    private final float scale;

    RecordChecks(final int features, final int classes, final float scale)
    {
        this.features = features;
        this.classes = classes;
        this.scale = scale;
    }

    int features()
    {
        return features;
    }

    int classes()
    {
        return classes;
    }

    float scale()
    {
        return scale;
    }

    /**
     * Parses {@code label,f1,...,fn} into {@code x[offset..offset+n)}; returns the label. The fields are found by
     * scanning for commas (about twice as fast as {@code String.split} on MNIST-wide lines), counted first: a line
     * with another field count is refused as such before any of its values is read.
     */
    int csvLine(final String line, final String where, final float[] x, final int offset)
    {
        int fields = 1;
        for (int i = line.indexOf(','); i >= 0; i = line.indexOf(',', i + 1))
        {
            fields++;
        }
        if (fields != features + 1)
        {
            throw new BadRecordException(where, "expected 1 label and " + features + " features = " +
                (features + 1) + " comma-separated fields (the model's nIn is " + features + "), found " + fields);
        }
        final int labelEnd = line.indexOf(',');
        int start = labelEnd + 1;
        for (int f = 0; f < features; f++)
        {
            final int end = f == features - 1 ? line.length() : line.indexOf(',', start);
            x[offset + f] = number(line.substring(start, end), where, "field " + (f + 2)) * scale;
            start = end + 1;
        }
        final int label = label(line.substring(0, labelEnd), where);
        check(x, offset, label, where);
        return label;
    }

    /** Parses {@code label i:v i:v ...} (1-based ascending indices) into {@code x[offset..offset+n)}. */
    int libSvmLine(final String line, final String where, final float[] x, final int offset)
    {
        final String[] tokens = line.trim().split("\\s+");
        java.util.Arrays.fill(x, offset, offset + features, 0f);
        int previous = 0;
        for (int t = 1; t < tokens.length; t++)
        {
            final int colon = tokens[t].indexOf(':');
            if (colon <= 0)
            {
                throw new BadRecordException(where, "token " + (t + 1) + " '" + tokens[t] + "' is not index:value");
            }
            final int index;
            try
            {
                index = Integer.parseInt(tokens[t].substring(0, colon));
            }
            catch (final NumberFormatException ex)
            {
                throw new BadRecordException(where, "token " + (t + 1) + " '" + tokens[t] +
                    "' has a non-integer index");
            }
            if (index <= previous || index > features)
            {
                throw new BadRecordException(where, "index " + index + " in token " + (t + 1) +
                    " must be ascending and within 1.." + features + " (the model's nIn)");
            }
            x[offset + index - 1] = number(tokens[t].substring(colon + 1), where, "token " + (t + 1)) * scale;
            previous = index;
        }
        final int label = label(tokens[0], where);
        check(x, offset, label, where);
        return label;
    }

    /** The label as a class index: {@code value} must be an integer ({@code text} is how the input wrote it). */
    static int label(final double value, final String text, final String where)
    {
        if (value != Math.rint(value))
        {
            throw new BadRecordException(where, "label '" + text + "' is not an integer class");
        }
        return (int)value;
    }

    /** That the label is a class of the model and every feature (already scaled) is finite. */
    void check(final float[] x, final int offset, final int label, final String where)
    {
        if (label < 0 || label >= classes)
        {
            throw new BadRecordException(where, "label " + label + " is out of range 0.." + (classes - 1) +
                " (the model's output layer has " + classes + " classes)");
        }
        for (int f = 0; f < features; f++)
        {
            if (!Float.isFinite(x[offset + f]))
            {
                throw new BadRecordException(where, "feature " + (f + 1) + " is " + x[offset + f] +
                    (scale != 1f ? " after --feature-scale " + scale : "") + "; features must be finite numbers");
            }
        }
    }

    static int label(final String text, final String where)
    {
        return label(number(text, where, "the label"), text.trim(), where);
    }

    private static float number(final String text, final String where, final String what)
    {
        try
        {
            final float value = Float.parseFloat(text.trim());
            if (!Float.isFinite(value))
            {
                throw new NumberFormatException("not finite");
            }
            return value;
        }
        catch (final NumberFormatException ex)
        {
            throw new BadRecordException(where, what + " '" + text.trim() + "' is not a finite number");
        }
    }
}
