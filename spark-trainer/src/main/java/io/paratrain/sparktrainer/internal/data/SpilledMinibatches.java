package io.paratrain.sparktrainer.internal.data;

import io.paratrain.sparktrainer.exceptions.TrainerException;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * A replica's minibatches in one local file, each written once ({@link MinibatchCodec}: the arrays' raw bytes, so
 * a step reads back bit for bit) and read back when its step is trained, every epoch. Only the
 * offsets stay in memory: step s is bytes {@code offsets[s] .. offsets[s + 1]} of the file; a step without
 * examples has none. Reads reuse one buffer, grown to the largest step.
 */
public final class SpilledMinibatches implements Minibatches
{
    private static final Logger LOG = LoggerFactory.getLogger(SpilledMinibatches.class);

    private final Path file;
    private final FileChannel channel;
    private final long[] offsets;
    private final String owner;
    private byte[] buffer = new byte[0];
    private long readNs;
    private long reads;

    private SpilledMinibatches(final Path file, final FileChannel channel, final long[] offsets, final String owner)
    {
        this.file = file;
        this.channel = channel;
        this.offsets = offsets;
        this.owner = owner;
    }

    @Override
    public MultiDataSet get(final int step)
    {
        final long startNs = System.nanoTime();
        final int length = (int)(offsets[step + 1] - offsets[step]);
        if (length == 0)
        {
            return null;
        }
        if (buffer.length < length)
        {
            buffer = new byte[length];
        }
        final ByteBuffer target = ByteBuffer.wrap(buffer, 0, length);
        try
        {
            while (target.hasRemaining())
            {
                if (channel.read(target, offsets[step] + target.position()) < 0)
                {
                    throw new TrainerException(owner + ": spill file " + file + " ends at " + channel.size() +
                        " bytes, step " + step + " needs bytes " + offsets[step] + ".." + offsets[step + 1]);
                }
            }
        }
        catch (final IOException ex)
        {
            throw new TrainerException(owner + ": cannot read step " + step + " from spill file " + file, ex);
        }
        final MultiDataSet batch = MinibatchCodec.decode(ByteBuffer.wrap(buffer, 0, length));
        readNs += System.nanoTime() - startNs;
        reads++;
        return batch;
    }

    @Override
    public int steps()
    {
        return offsets.length - 1;
    }

    /** The file's size. */
    public long bytes()
    {
        return offsets[offsets.length - 1];
    }

    public Path file()
    {
        return file;
    }

    /** Closes and deletes the file; a failure to delete is logged, not thrown, so it never hides the task's error. */
    @Override
    public void close()
    {
        LOG.info("{}: read {} steps from spill file {} ({} bytes) in {} ms in all", owner, reads, file, bytes(),
            readNs / 1_000_000);
        SpillFiles.deleteQuietly(channel, file, owner);
    }

    /** Appends the steps' minibatches in step order; {@link #finish} or {@link #abandon} ends it. */
    public static final class Writer
    {
        private final Path file;
        private final FileChannel channel;
        private final long[] offsets;
        private final String owner;
        private ByteBuffer bytes = ByteBuffer.allocate(0);
        private int written;
        private long writeNs;

        /** A new file at {@code file} (which must not exist) for {@code steps} steps. */
        public Writer(final Path file, final int steps, final String owner)
        {
            this.file = file;
            this.offsets = new long[steps + 1];
            this.owner = owner;
            this.channel = SpillFiles.create(file, owner);
        }

        /** The next step's minibatch, or null for a step without examples. */
        public void append(final MultiDataSet batch)
        {
            if (written == offsets.length - 1)
            {
                abandon();
                throw new TrainerException(owner + ": more than " + written + " steps appended to spill file " + file);
            }
            final long startNs = System.nanoTime();
            long end = offsets[written];
            if (batch != null)
            {
                final long length = MinibatchCodec.encodedBytes(batch);
                if (length > Integer.MAX_VALUE - 16)
                {
                    abandon();
                    throw new TrainerException(owner + ": the minibatch of step " + written + " takes " + length +
                        " bytes, more than a Java array holds: use a smaller batchSizePerWorker");
                }
                if (bytes.capacity() < length)
                {
                    bytes = ByteBuffer.allocate((int)length);
                }
                bytes.clear();
                MinibatchCodec.encode(batch, bytes);
                final ByteBuffer source = bytes.flip();
                try
                {
                    while (source.hasRemaining())
                    {
                        channel.write(source, end + source.position());
                    }
                }
                catch (final IOException ex)
                {
                    abandon();
                    throw new TrainerException(owner + ": cannot write step " + written + " to spill file " + file +
                        " (is the local dir's disk full?)", ex);
                }
                end += source.limit();
            }
            offsets[++written] = end;
            writeNs += System.nanoTime() - startNs;
        }

        /** The minibatches for reading; every step must have been appended. */
        public SpilledMinibatches finish()
        {
            if (written != offsets.length - 1)
            {
                abandon();
                throw new TrainerException(owner + ": " + written + " of " + (offsets.length - 1) +
                    " steps appended to spill file " + file);
            }
            LOG.info("{}: wrote {} steps to spill file {} ({} bytes) in {} ms", owner, written, file,
                offsets[written], writeNs / 1_000_000);
            return new SpilledMinibatches(file, channel, Arrays.copyOf(offsets, offsets.length), owner);
        }

        /** Closes and deletes the file after a failure. */
        public void abandon()
        {
            SpillFiles.deleteQuietly(channel, file, owner);
        }
    }
}
