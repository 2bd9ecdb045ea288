package io.paratrain.sparktrainer.job;

import org.apache.hadoop.io.Text;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.zip.GZIPOutputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The bundled data's lines as byte ranges: cut as BufferedReader cuts them, split into partitions of examples. */
class BundledLinesTest
{
    @Test
    void linesAreCutAsBufferedReaderCutsThem() throws IOException
    {
        for (final String text : List.of("", "a", "a\n", "a\nb", "a\r\nb\r\n", "a\rb\r", "\n\n", "a\r\n\r\nb",
            "a\n\rb", "\r", "x\r\r\ny"))
        {
            final byte[] gz = gzip(text);
            assertEquals(BundledData.lines(gz, "t"), all(BundledLines.of(gz, "t")), text.replace("\r", "\\r")
                .replace("\n", "\\n"));
        }
    }

    /**
     * A gzip file of two members: its trailer gives only the last member's length, shorter than the text, and the
     * text is still read whole (either member order).
     */
    @Test
    void aFileWhoseTrailerGivesAnotherLengthIsStillReadWhole() throws IOException
    {
        final String longer = "1,2,3\n4,5,6\n7,8,9\n";
        final String shorter = "0\n";
        for (final List<String> members : List.of(List.of(longer, shorter), List.of(shorter, longer)))
        {
            final ByteArrayOutputStream both = new ByteArrayOutputStream();
            both.write(gzip(members.get(0)));
            both.write(gzip(members.get(1)));
            final byte[] gz = both.toByteArray();
            assertEquals(BundledData.lines(gz, "t"), all(BundledLines.of(gz, "t")), members.toString());
            assertEquals(4, all(BundledLines.of(gz, "t")).size());
        }
    }

    /**
     * 7 examples among blank lines in 3 partitions: 2, 2 and 3 examples ({@link DataOrder.Split}); blank lines go
     * with the examples before them, leading ones with the first partition.
     */
    @Test
    void rangesHoldEachPartitionsShareOfTheExamples() throws IOException
    {
        final BundledLines lines = BundledLines.of(gzip("\n1\n2\n \n3\n4\n\n5\n6\n7\n\n"), "t");
        final List<String> ranges = new ArrayList<>();
        lines.ranges(3).forEach(r -> ranges.add(r[0] + ".." + r[1]));
        assertEquals(List.of("0..4", "4..7", "7..11"), ranges);
        // 9 partitions of 7 examples: 0, 1, 1, 1, 0, 1, 1, 1, 1
        final List<String> nine = new ArrayList<>();
        lines.ranges(9).forEach(r -> nine.add(r[0] + ".." + r[1]));
        assertEquals(List.of("0..1", "1..2", "2..4", "4..5", "5..5", "5..7", "7..8", "8..9", "9..11"), nine);
    }

    private static List<String> all(final BundledLines lines)
    {
        final List<String> text = new ArrayList<>();
        for (final Iterator<Text> it = lines.lines(0, lines.count()); it.hasNext(); )
        {
            text.add(it.next().toString());
        }
        return text;
    }

    private static byte[] gzip(final String text) throws IOException
    {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (OutputStream out = new GZIPOutputStream(bytes))
        {
            out.write(text.getBytes(StandardCharsets.US_ASCII));
        }
        return bytes.toByteArray();
    }
}
