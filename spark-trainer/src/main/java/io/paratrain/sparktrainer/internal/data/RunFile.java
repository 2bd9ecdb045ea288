package io.paratrain.sparktrainer.internal.data;

import io.paratrain.sparktrainer.exceptions.TrainerException;
import org.nd4j.linalg.dataset.api.MultiDataSet;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The runs a replica received, appended to a local file in the order they arrived ({@link MinibatchCodec}), while
 * the shuffle delivers them; only each run's offset and length stay in memory. {@link RunSink} then reads them back
 * step by step to write the steps' minibatches, and deletes this file.
 */
final class RunFile
{
    private final Path file;
    private final FileChannel channel;
    private final String owner;
    private long[] offsets = new long[64];
    private int runs;
    private long end;
    private ByteBuffer bytes = ByteBuffer.allocate(0);

    RunFile(final Path file, final String owner)
    {
        this.file = file;
        this.owner = owner;
        this.channel = SpillFiles.create(file, owner);
    }

    /** Appends {@code run}; it is run number {@link #runs()} - 1 from then on. */
    void append(final MultiDataSet run)
    {
        final long length = MinibatchCodec.encodedBytes(run);
        if (length > Integer.MAX_VALUE - 16)
        {
            throw new TrainerException(owner + ": a run of " + Examples.count(run) + " examples takes " + length +
                " bytes, more than a Java array holds: use smaller input minibatches");
        }
        if (bytes.capacity() < length)
        {
            bytes = ByteBuffer.allocate((int)length);
        }
        bytes.clear();
        MinibatchCodec.encode(run, bytes);
        bytes.flip();
        try
        {
            while (bytes.hasRemaining())
            {
                channel.write(bytes, end + bytes.position());
            }
        }
        catch (final IOException ex)
        {
            throw new TrainerException(owner + ": cannot write to spill file " + file +
                " (is the local dir's disk full?)", ex);
        }
        if (runs + 1 >= offsets.length)
        {
            offsets = Arrays.copyOf(offsets, offsets.length * 2);
        }
        offsets[runs] = end;
        end += length;
        offsets[++runs] = end;
    }

    int runs()
    {
        return runs;
    }

    long bytes()
    {
        return end;
    }

    /** Run {@code run} as it was appended. */
    MultiDataSet read(final int run)
    {
        final int length = (int)(offsets[run + 1] - offsets[run]);
        if (bytes.capacity() < length)
        {
            bytes = ByteBuffer.allocate(length);
        }
        bytes.clear().limit(length);
        try
        {
            while (bytes.hasRemaining())
            {
                if (channel.read(bytes, offsets[run] + bytes.position()) < 0)
                {
                    throw new TrainerException(owner + ": spill file " + file + " ends before run " + run);
                }
            }
        }
        catch (final IOException ex)
        {
            throw new TrainerException(owner + ": cannot read run " + run + " from spill file " + file, ex);
        }
        return MinibatchCodec.decode(bytes.flip());
    }

    /** Closes and deletes the file. */
    void delete()
    {
        SpillFiles.deleteQuietly(channel, file, owner);
    }
}
