package io.paratrain.sparktrainer.internal.checkpoint;

import io.paratrain.sparktrainer.LocalFileSystemUnderScheme;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.Path;

import java.io.IOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Test file system: the local one under the scheme {@code counting:} (registered in the test resources'
 * META-INF/services), counting the files opened for reading, by path.
 */
public final class CountingReadsFileSystem extends LocalFileSystemUnderScheme
{
    public static final String SCHEME = "counting";
    private static final Map<String, Integer> OPENED = new ConcurrentHashMap<>();

    public CountingReadsFileSystem()
    {
        super(SCHEME);
    }

    @Override
    public FSDataInputStream open(final Path file, final int bufferSize) throws IOException
    {
        OPENED.merge(file.toUri().getPath(), 1, Integer::sum);
        return super.open(file, bufferSize);
    }

    /** Reads of files in {@code folder} since the last call, and starts counting again. */
    static int takeReadsIn(final String folder)
    {
        int reads = 0;
        for (final String file : OPENED.keySet())
        {
            if (file.startsWith(folder + "/"))
            {
                reads += OPENED.remove(file);
            }
        }
        return reads;
    }
}
