package io.paratrain.sparktrainer.job;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.io.compress.CompressionCodec;
import org.apache.hadoop.io.compress.CompressionCodecFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/**
 * On the driver: the message for a refused record, with its line number in the whole file. A task knows a text
 * row only as the n-th row of its part of the file (a Spark file split, which starts at some byte); this class
 * reads the file from its start and finds that line as Hadoop's LineRecordReader (which Spark's CSV and text
 * readers use) splits it: lines end at LF, CR LF or a lone CR, and a part that does not start the file begins at
 * the first line that starts after its first byte. Spark's CSV reader gives no row for a blank line; its text
 * reader does. For a CSV row the line's text is parsed once more ({@link RecordChecks#csvLine}) to say which field
 * was wrong and how, as the line was written. A compressed file's later part cannot be mapped to lines without
 * decompressing from the start of that part's stream, so its message names the part and the row, stated as such.
 */
final class LineLocator
{
    private static final int BUFFER_BYTES = 1 << 16;

    private LineLocator()
    {
    }

    static String describe(final BadRecord bad, final Configuration hadoop)
    {
        if (bad.where() != null)
        {
            return bad.where() + ": " + bad.problem();
        }
        final Path file = new Path(bad.file());
        final CompressionCodec codec = new CompressionCodecFactory(hadoop).getCodec(file);
        if (codec != null && bad.partStart() != 0)
        {
            return bad.file() + ", row " + (bad.rowInPart() + 1) + " of the part of this compressed file that " +
                "starts at compressed byte " + bad.partStart() + " (its line number is not known): " + bad.problem();
        }
        final long line;
        try
        {
            line = lineOf(file.getFileSystem(hadoop), file, codec, bad.partStart(), bad.rowInPart());
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot read " + bad.file() + " to find the line number of row " +
                (bad.rowInPart() + 1) + " of its part at byte " + bad.partStart() + ": " + bad.problem(), ex);
        }
        return bad.file() + " line " + line + ": " + bad.problem();
    }

    /**
     * The line number (1-based) of the {@code rowInPart}-th row (0-based) of the part of {@code file} that starts at byte {@code partStart}.
     *
     * @param codec the file's compression codec, or null; with one, {@code partStart} must be 0.
     */
    static long lineOf(final FileSystem fs, final Path file, final CompressionCodec codec, final long partStart,
        final long rowInPart) throws IOException
    {
        try (InputStream raw = fs.open(file); InputStream in = codec == null ? raw : codec.createInputStream(raw))
        {
            final byte[] buffer = new byte[BUFFER_BYTES];
            long position = 0; // of the next byte read
            long lineStart = 0;
            long lineNumber = 1;
            long rows = 0;
            boolean inPart = partStart == 0;
            boolean afterCr = false;
            for (int read = in.read(buffer); read >= 0; read = in.read(buffer))
            {
                for (int i = 0; i < read; i++, position++)
                {
                    final byte b = buffer[i];
                    final boolean lfOfCrLf = afterCr && b == '\n';
                    afterCr = false;
                    if (lfOfCrLf || b == '\n' || b == '\r')
                    {
                        if (!lfOfCrLf)
                        {
                            if (inPart)
                            {
                                if (rows == rowInPart)
                                {
                                    return lineNumber;
                                }
                                rows++;
                            }
                            lineNumber++;
                            afterCr = b == '\r';
                        }
                        lineStart = position + 1; // after a CR, moved past the LF if one follows
                        inPart = partStart == 0 || lineStart > partStart;
                    }
                }
            }
            if (inPart && lineStart < position && rows == rowInPart)
            {
                return lineNumber; // the last line, without a line end
            }
            throw new IOException(file + " has " + rows + " rows in its part at byte " + partStart + ", expected " +
                "at least " + (rowInPart + 1) + " (was it changed while the job ran?)");
        }
    }
}
