package io.paratrain.sparktrainer.job;

import io.paratrain.sparktrainer.exceptions.TrainingInputException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.IOException;

/** Checks, on the driver before any Spark job, that the data paths the options name exist. */
final class InputPaths
{
    private InputPaths()
    {
    }

    /**
     * Every comma-separated part of {@code paths} (Hadoop's input syntax) must match a file or folder (globs
     * allowed).
     *
     * @param option the option that gave the paths, for the message.
     */
    static void requireExisting(final String option, final String paths, final Configuration hadoop)
    {
        for (final String part : paths.split(","))
        {
            final Path path = new Path(part.trim());
            final FileStatus[] matches;
            final Path qualified;
            try
            {
                final FileSystem fs = path.getFileSystem(hadoop);
                qualified = fs.makeQualified(path);
                matches = fs.globStatus(path);
            }
            catch (final IOException ex)
            {
                throw new TrainingInputException(option + " " + part + ": cannot be read: " + ex.getMessage(), ex);
            }
            if (matches == null || matches.length == 0)
            {
                throw new TrainingInputException(option + " " + part + ": no such file or folder (" + qualified +
                    ")");
            }
        }
    }
}
