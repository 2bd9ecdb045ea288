package io.paratrain.sparktrainer.job;

import io.paratrain.sparktrainer.exceptions.BadRecordException;

import java.io.Serializable;
import java.nio.charset.StandardCharsets;

/**
 * The rules every example obeys, with the messages that name what was expected and found: {@code features}
 * features, finite after {@code scale}, and an integer label in 0..classes-1; and the parsers of one CSV or LibSVM
 * line, which name the field or token as it was written.
 */
final class RecordChecks implements Serializable
{
    private static final long serialVersionUID = 1L;
    /** 10^0..10^10, each an exact float (5^10 < 2^24). */
    private static final float[] POWERS_OF_TEN = {1f, 1e1f, 1e2f, 1e3f, 1e4f, 1e5f, 1e6f, 1e7f, 1e8f, 1e9f, 1e10f};
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

    /**
     * {@link #csvLine(String, String, float[], int)} on a line's UTF-8 bytes (Hadoop's {@code Text}), with the same
     * values and messages, without a String per field: a field in plain decimal notation of at most 7 significant
     * digits and 10 decimals ({@link #plainDecimal}) is read from the bytes, any other through
     * {@link Float#parseFloat} as before. A line with a byte beyond ASCII goes the String way whole.
     */
    int csvLine(final byte[] line, final int length, final String where, final float[] x, final int offset)
    {
        int fields = 1;
        int labelEnd = -1;
        for (int i = 0; i < length; i++)
        {
            if (line[i] < 0)
            {
                return csvLine(new String(line, 0, length, StandardCharsets.UTF_8), where, x, offset);
            }
            if (line[i] == ',')
            {
                labelEnd = fields == 1 ? i : labelEnd;
                fields++;
            }
        }
        if (fields != features + 1)
        {
            return csvLine(new String(line, 0, length, StandardCharsets.US_ASCII), where, x, offset); // refused
        }
        int start = labelEnd + 1;
        for (int f = 0; f < features; f++)
        {
            int end = start;
            while (end < length && line[end] != ',')
            {
                end++;
            }
            float value = plainDecimal(line, start, end);
            if (Float.isNaN(value))
            {
                value = number(new String(line, start, end - start, StandardCharsets.US_ASCII), where,
                    "field " + (f + 2));
            }
            x[offset + f] = value * scale;
            start = end + 1;
        }
        final int label = label(new String(line, 0, labelEnd, StandardCharsets.US_ASCII), where);
        check(x, offset, label, where);
        return label;
    }

    /**
     * Whether a line (UTF-8 bytes {@code from .. to - 1}) is blank as {@link String#isBlank} says: only white space (ASCII white space
     * checked on the bytes, anything beyond ASCII on the decoded line).
     */
    static boolean blank(final byte[] line, final int from, final int to)
    {
        for (int i = from; i < to; i++)
        {
            if (line[i] < 0)
            {
                return new String(line, from, to - from, StandardCharsets.UTF_8).isBlank();
            }
            if (!Character.isWhitespace(line[i]))
            {
                return false;
            }
        }
        return true;
    }

    /**
     * The float {@link Float#parseFloat} gives for {@code bytes[from..to)} when that is, after trimming as
     * {@link String#trim} does, {@code [+-]digits[.digits]} (or {@code [+-].digits}) with at most 7 significant
     * digits and at most 10 decimals; NaN for anything else (the caller then asks {@link Float#parseFloat}). With
     * mantissa {@code m < 10^7} and {@code k <= 10} decimals both {@code m} and {@code 10^k} are exact floats, so
     * one IEEE float division gives the correctly rounded value of the decimal, as {@link Float#parseFloat} does
     * (the JDK takes this very path for such numbers).
     */
    static float plainDecimal(final byte[] bytes, final int from, final int to)
    {
        int start = from;
        int end = to;
        while (start < end && (bytes[start] & 0xff) <= ' ')
        {
            start++;
        }
        while (end > start && (bytes[end - 1] & 0xff) <= ' ')
        {
            end--;
        }
        final boolean negative = start < end && bytes[start] == '-';
        if (start < end && (bytes[start] == '-' || bytes[start] == '+'))
        {
            start++;
        }
        int mantissa = 0;
        int digits = 0;
        int decimals = -1; // -1 before the point
        for (int i = start; i < end; i++)
        {
            final int b = bytes[i];
            if (b >= '0' && b <= '9')
            {
                mantissa = mantissa * 10 + (b - '0');
                digits++;
                if (mantissa >= 10_000_000 || decimals >= 10)
                {
                    return Float.NaN;
                }
                decimals += decimals >= 0 ? 1 : 0;
            }
            else if (b == '.' && decimals < 0)
            {
                decimals = 0;
            }
            else
            {
                return Float.NaN;
            }
        }
        if (digits == 0)
        {
            return Float.NaN;
        }
        final float value = decimals <= 0 ? (float)mantissa : (float)mantissa / POWERS_OF_TEN[decimals];
        return negative ? -value : value;
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
