package io.paratrain.sparktrainer.job;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.io.compress.CompressionCodecFactory;

import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * On the driver: the message for a refused record, with the line number in the whole file for a line found by a
 * task that read only a part (a Hadoop split) of it. The line number is found by counting the line ends before the
 * line's first byte, as Hadoop's LineRecordReader ends lines: at LF, CR LF or a lone CR. A compressed file cannot
 * be counted without decompressing it from its start, so its message gives the part and the line's first
 * characters instead, stated as such.
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
        if (new CompressionCodecFactory(hadoop).getCodec(file) != null)
        {
            return bad.file() + ", the line starting '" + bad.excerpt() + "' in the part of this compressed file " +
                "that starts at compressed byte " + bad.splitStart() + " (its line number is not known): " +
                bad.problem();
        }
        try
        {
            return bad.file() + " line " + (lineEndsBefore(file.getFileSystem(hadoop), file, bad.byteOffset()) + 1) +
                ": " + bad.problem();
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot read " + bad.file() + " to find the line number of the bad " +
                "line at byte " + bad.byteOffset() + " (starting '" + bad.excerpt() + "'): " + bad.problem(), ex);
        }
    }

    /** Line ends (LF, CR LF counted once, lone CR) in the first {@code bytes} bytes of {@code file}. */
    static long lineEndsBefore(final FileSystem fs, final Path file, final long bytes) throws IOException
    {
        long ends = 0;
        boolean afterCr = false;
        final byte[] buffer = new byte[BUFFER_BYTES];
        try (FSDataInputStream in = fs.open(file))
        {
            long left = bytes;
            while (left > 0)
            {
                final int read = in.read(buffer, 0, (int)Math.min(buffer.length, left));
                if (read < 0)
                {
                    throw new IOException(file + " has only " + (bytes - left) + " bytes, expected at least " + bytes);
                }
                for (int i = 0; i < read; i++)
                {
                    final byte b = buffer[i];
                    if (b == '\n' || afterCr)
                    {
                        ends++; // an LF ends a line (once after a CR); any other byte after a CR: that CR did
                    }
                    afterCr = b == '\r';
                }
                left -= read;
            }
        }
        return afterCr ? ends + 1 : ends;
    }
}
