package io.paratrain.sparktrainer.job;

import io.paratrain.sparktrainer.exceptions.TrainingInputException;
import org.apache.hadoop.io.Text;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.zip.GZIPInputStream;

/**
 * The lines of a bundled gzip CSV file as byte ranges of its text, cut as {@link java.io.BufferedReader} cuts them
 * (after LF, CR or CR LF; a last line without an end counts when it has any byte), so that line numbers agree
 * with {@link BundledData#lines}. The driver splits them into the partitions' line ranges, the tasks parse their
 * range from the bytes: no String per line on either side.
 */
final class BundledLines
{
    /** Compressed bytes handed to the inflater at a time (GZIPInputStream's default is 512). */
    private static final int INFLATE_BUFFER_BYTES = 64 * 1024;

    private final byte[] text;
    /** Line i is {@code text[bounds[2i] .. bounds[2i+1])}, without its line end. */
    private final int[] bounds;

    private BundledLines(final byte[] text, final int[] bounds)
    {
        this.text = text;
        this.bounds = bounds;
    }

    static BundledLines of(final byte[] compressed, final String name)
    {
        final byte[] text;
        try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(compressed), INFLATE_BUFFER_BYTES))
        {
            text = unpacked(in, compressed);
        }
        catch (final IOException ex)
        {
            throw new TrainingInputException("cannot read bundled data " + name + ": " + ex.getMessage(), ex);
        }
        return new BundledLines(text, bounds(text));
    }

    /**
     * The text of a gzip file, read into one array of the size its trailer gives (ISIZE, the text's length modulo 2^32,
     * of the last member): in a fresh JVM this unpacked the bundled 14.6 MB in 75-79 ms, {@code readAllBytes} through
     * the default 512-byte buffer in 145-194 ms, and it allocates one array instead of chunks and their copy. A file
     * the trailer does not describe (several members, 4 GiB or more) is still read whole.
     */
    private static byte[] unpacked(final InputStream in, final byte[] compressed) throws IOException
    {
        final int n = compressed.length;
        final long size = n < 4 ? 0 : (compressed[n - 4] & 0xffL) | (compressed[n - 3] & 0xffL) << 8 |
            (compressed[n - 2] & 0xffL) << 16 | (compressed[n - 1] & 0xffL) << 24;
        final byte[] text = new byte[(int)Math.min(size, Integer.MAX_VALUE - 8)];
        final int read = in.readNBytes(text, 0, text.length);
        final byte[] rest = in.readAllBytes();
        if (read == text.length && rest.length == 0)
        {
            return text;
        }
        final byte[] whole = java.util.Arrays.copyOf(text, read + rest.length);
        System.arraycopy(rest, 0, whole, read, rest.length);
        return whole;
    }

    int count()
    {
        return bounds.length / 2;
    }

    /**
     * For each of {@code partitions} partitions, its lines {@code [from, to)}: those holding its share of the
     * examples (the lines that are not blank), split as {@link DataOrder.Split} splits the examples. Blank lines go
     * with the examples before them (leading ones with the first partition).
     */
    List<int[]> ranges(final int partitions)
    {
        final int[] exampleLines = new int[count()];
        int examples = 0;
        for (int i = 0; i < count(); i++)
        {
            if (!RecordChecks.blank(text, bounds[2 * i], bounds[2 * i + 1]))
            {
                exampleLines[examples++] = i;
            }
        }
        final DataOrder.Split split = new DataOrder.Split(examples, partitions);
        final List<int[]> ranges = new ArrayList<>();
        for (int p = 0; p < partitions; p++)
        {
            final long first = split.start(p);
            final long end = split.start(p + 1);
            final int from = p == 0 ? 0 : first < examples ? exampleLines[(int)first] : count();
            final int to = p == partitions - 1 || end >= examples ? count() : exampleLines[(int)end];
            ranges.add(new int[] {from, to});
        }
        return ranges;
    }

    /** Lines {@code from .. to - 1}, in one Text (refilled). */
    Iterator<Text> lines(final int from, final int to)
    {
        final Text line = new Text();
        return new Iterator<>()
        {
            private int next = from;

            @Override
            public boolean hasNext()
            {
                return next < to;
            }

            @Override
            public Text next()
            {
                if (next >= to)
                {
                    throw new NoSuchElementException();
                }
                line.set(text, bounds[2 * next], bounds[2 * next + 1] - bounds[2 * next]);
                next++;
                return line;
            }
        };
    }

    private static int[] bounds(final byte[] text)
    {
        int[] bounds = new int[1024];
        int lines = 0;
        int start = 0;
        int i = 0;
        while (i < text.length)
        {
            final byte b = text[i];
            if (b == '\n' || b == '\r')
            {
                bounds = add(bounds, lines++, start, i);
                i += b == '\r' && i + 1 < text.length && text[i + 1] == '\n' ? 2 : 1;
                start = i;
            }
            else
            {
                i++;
            }
        }
        if (start < text.length)
        {
            bounds = add(bounds, lines++, start, text.length);
        }
        return java.util.Arrays.copyOf(bounds, 2 * lines);
    }

    private static int[] add(final int[] bounds, final int line, final int start, final int end)
    {
        final int[] room = 2 * line + 2 <= bounds.length ? bounds : java.util.Arrays.copyOf(bounds, 2 * bounds.length);
        room[2 * line] = start;
        room[2 * line + 1] = end;
        return room;
    }
}
