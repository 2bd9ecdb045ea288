package io.paratrain.sparktrainer.internal.checkpoint;

import io.paratrain.sparktrainer.exceptions.CheckpointException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Checkpoint files in one folder on any Hadoop FileSystem: {@code checkpoint-<global step>.ptcp}, written through
 * {@link AtomicFile}, so a reader sees a whole file or none; the newest {@code keep} are kept.
 */
public final class CheckpointStore
{
    private static final Logger LOG = LoggerFactory.getLogger(CheckpointStore.class);
    private static final Pattern NAME = Pattern.compile("checkpoint-(\\d{12})\\.ptcp");

    private final Path folder;
    private final FileSystem fs;
    /** The file system checkpoints are written with: {@link AtomicFile}'s (raw for local folders). */
    private final FileSystem writer;
    private final Configuration hadoop;
    private final int keep;

    public CheckpointStore(final String folder, final int keep, final Configuration hadoop)
    {
        this.folder = new Path(folder);
        this.keep = keep;
        this.hadoop = hadoop;
        try
        {
            this.fs = this.folder.getFileSystem(hadoop);
            this.writer = AtomicFile.fileSystemOf(this.folder, hadoop);
        }
        catch (final IOException ex)
        {
            throw new CheckpointException("cannot open the file system of checkpoint folder " + folder, ex);
        }
    }

    public static String fileName(final long globalStep)
    {
        return String.format("checkpoint-%012d.ptcp", globalStep);
    }

    public void write(final Checkpoint checkpoint)
    {
        final Path target = new Path(folder, fileName(checkpoint.globalStep()));
        try
        {
            fs.mkdirs(folder);
            AtomicFile.write(writer, target, hadoop, out -> out.write(checkpoint.encode()));
            prune();
        }
        catch (final IOException ex)
        {
            throw new CheckpointException("cannot write checkpoint " + target, ex);
        }
    }

    /** Global steps of the checkpoint files present, newest first (not checked for validity). */
    public List<Long> steps()
    {
        final List<Long> steps = new ArrayList<>();
        try
        {
            if (!fs.exists(folder))
            {
                return steps;
            }
            for (final FileStatus status : fs.listStatus(folder))
            {
                final Matcher m = NAME.matcher(status.getPath().getName());
                if (status.isFile() && m.matches())
                {
                    steps.add(Long.parseLong(m.group(1)));
                }
            }
        }
        catch (final IOException ex)
        {
            throw new CheckpointException("cannot list checkpoint folder " + folder, ex);
        }
        steps.sort(Comparator.reverseOrder());
        return steps;
    }

    public Checkpoint read(final long globalStep)
    {
        final Path path = new Path(folder, fileName(globalStep));
        try (FSDataInputStream in = fs.open(path))
        {
            return Checkpoint.decode(in.readAllBytes(), path.toString());
        }
        catch (final IOException ex)
        {
            throw new CheckpointException("cannot read checkpoint " + path, ex);
        }
    }

    /** The newest checkpoint that reads back whole; corrupt or partial ones are skipped with a warning. */
    public Optional<Checkpoint> newestValid()
    {
        for (final long step : steps())
        {
            try
            {
                return Optional.of(read(step));
            }
            catch (final CheckpointException ex)
            {
                LOG.warn("Skipping checkpoint {}: {}", fileName(step), ex.getMessage());
            }
        }
        return Optional.empty();
    }

    /** Deletes every checkpoint file in the folder (a fit that does not resume starts a new series). */
    public int deleteAll()
    {
        final List<Long> steps = steps();
        steps.forEach(step -> deleteQuietly(new Path(folder, fileName(step))));
        return steps.size();
    }

    private void prune()
    {
        final List<Long> steps = steps();
        for (int i = keep; i < steps.size(); i++)
        {
            deleteQuietly(new Path(folder, fileName(steps.get(i))));
        }
    }

    private void deleteQuietly(final Path path)
    {
        try
        {
            if (fs.exists(path) && !fs.delete(path, false))
            {
                LOG.warn("Could not delete {}", path);
            }
        }
        catch (final IOException ex)
        {
            LOG.warn("Could not delete {}: {}", path, ex.toString());
        }
    }

    @Override
    public String toString()
    {
        return folder.toString();
    }
}
