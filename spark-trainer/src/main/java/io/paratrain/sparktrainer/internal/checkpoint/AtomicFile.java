package io.paratrain.sparktrainer.internal.checkpoint;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileContext;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.Options;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.apache.hadoop.fs.UnsupportedFileSystemException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.util.UUID;

/**
 * Writes a file on any Hadoop file system so that a reader sees the old file or the whole new one, never a part
 * and never none: the bytes go to a hidden temporary name beside the target ({@code .<name>.tmp-<uuid>}), are
 * synced, and then replace the target in one rename. The model output and the checkpoints both write this way.
 * <p>
 * Hadoop's {@code FileSystem.rename} refuses an existing target, and deleting it first would leave a moment with
 * no file at all. So the local file system uses {@code rename(2)} through {@link Files#move} (atomic, replaces),
 * and others {@link FileContext#rename} with {@code OVERWRITE} (atomic on HDFS). A file system with no
 * {@code FileContext} binding falls back to delete-then-rename, with a warning that says so. The local file
 * system is used raw: its checksummed form would leave a {@code .<name>.crc} beside the user's file, and both
 * formats written here carry checksums of their own.
 */
public final class AtomicFile
{
    private static final Logger LOG = LoggerFactory.getLogger(AtomicFile.class);

    /** Writes the file's bytes; the stream is closed by {@link AtomicFile}. */
    @FunctionalInterface
    public interface Content
    {
        void writeTo(OutputStream out) throws IOException;
    }

    private AtomicFile()
    {
    }

    /** The file system to write {@code target} with: the raw one for local files (no {@code .crc} side files). */
    public static FileSystem fileSystemOf(final Path target, final Configuration hadoop) throws IOException
    {
        final FileSystem fs = target.getFileSystem(hadoop);
        return fs instanceof LocalFileSystem local ? local.getRawFileSystem() : fs;
    }

    /**
     * Writes {@code content} to {@code target} (replacing it if it exists). On failure the target is unchanged and
     * the temporary file is gone.
     */
    public static void write(final FileSystem fs, final Path target, final Configuration hadoop, final Content content)
        throws IOException
    {
        final Path folder = target.getParent() == null ? new Path(".") : target.getParent();
        final Path temp = new Path(folder, "." + target.getName() + ".tmp-" + UUID.randomUUID());
        try
        {
            try (FSDataOutputStream out = fs.create(temp, false))
            {
                content.writeTo(out);
                out.hsync();
            }
            replace(fs, temp, target, hadoop);
        }
        finally
        {
            if (fs.exists(temp))
            {
                fs.delete(temp, false);
            }
        }
    }

    private static void replace(final FileSystem fs, final Path temp, final Path target, final Configuration hadoop)
        throws IOException
    {
        if (fs instanceof RawLocalFileSystem local)
        {
            Files.move(local.pathToFile(temp).toPath(), local.pathToFile(target).toPath(),
                StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            return;
        }
        final FileContext context;
        try
        {
            context = FileContext.getFileContext(fs.getUri(), hadoop);
        }
        catch (final UnsupportedFileSystemException ex)
        {
            LOG.warn("{} has no atomic rename-over through FileContext; replacing {} by delete, then rename " +
                "(a reader may find no file in between)", fs.getUri(), target);
            if (fs.exists(target) && !fs.delete(target, false))
            {
                throw new IOException("cannot replace the existing " + target);
            }
            if (!fs.rename(temp, target))
            {
                throw new IOException("cannot rename " + temp + " to " + target);
            }
            return;
        }
        context.rename(temp, target, Options.Rename.OVERWRITE);
    }
}
