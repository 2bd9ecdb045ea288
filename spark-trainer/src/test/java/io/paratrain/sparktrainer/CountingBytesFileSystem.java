package io.paratrain.sparktrainer;

import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FSInputStream;
import org.apache.hadoop.fs.Path;

import java.io.IOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Test file system: the local one under the scheme {@code countingbytes:} (registered in the test resources'
 * META-INF/services), counting the bytes each file hands to its readers (what they read, not what a buffer below
 * them reads ahead; a seek skips bytes without reading them), by path.
 */
public final class CountingBytesFileSystem extends LocalFileSystemUnderScheme
{
    public static final String SCHEME = "countingbytes";
    private static final Map<String, Long> READ = new ConcurrentHashMap<>();

    public CountingBytesFileSystem()
    {
        super(SCHEME);
    }

    @Override
    public FSDataInputStream open(final Path file, final int bufferSize) throws IOException
    {
        return new FSDataInputStream(new Counting(super.open(file, bufferSize), file.toUri().getPath()));
    }

    /** Bytes read of the file at {@code path} since the last call (0 when none), and starts counting again. */
    static long takeBytesRead(final String path)
    {
        final Long read = READ.remove(path);
        return read == null ? 0 : read;
    }

    private static final class Counting extends FSInputStream
    {
        private final FSDataInputStream in;
        private final String path;

        Counting(final FSDataInputStream in, final String path)
        {
            this.in = in;
            this.path = path;
        }

        @Override
        public int read() throws IOException
        {
            final int b = in.read();
            if (b >= 0)
            {
                READ.merge(path, 1L, Long::sum);
            }
            return b;
        }

        @Override
        public int read(final byte[] buffer, final int offset, final int length) throws IOException
        {
            final int read = in.read(buffer, offset, length);
            if (read > 0)
            {
                READ.merge(path, (long)read, Long::sum);
            }
            return read;
        }

        @Override
        public long skip(final long bytes) throws IOException
        {
            return in.skip(bytes);
        }

        @Override
        public void seek(final long position) throws IOException
        {
            in.seek(position);
        }

        @Override
        public long getPos() throws IOException
        {
            return in.getPos();
        }

        @Override
        public boolean seekToNewSource(final long target) throws IOException
        {
            return in.seekToNewSource(target);
        }

        @Override
        public int available() throws IOException
        {
            return in.available();
        }

        @Override
        public void close() throws IOException
        {
            in.close();
        }
    }
}
