package io.paratrain.sparktrainer;

import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.Path;

import java.io.IOException;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/**
 * Test file system: the local one under the scheme {@code reversed:}, listing a folder in reverse name order, as
 * another file system might (a local one lists in its own order, an object store in key order).
 */
public final class ReversedListingFileSystem extends LocalFileSystemUnderScheme
{
    public static final String SCHEME = "reversed";

    public ReversedListingFileSystem()
    {
        super(SCHEME);
    }

    @Override
    public FileStatus[] listStatus(final Path folder) throws IOException
    {
        final List<FileStatus> files = Arrays.asList(super.listStatus(folder));
        files.sort((a, b) -> a.getPath().getName().compareTo(b.getPath().getName()));
        Collections.reverse(files);
        // Plain statuses: the local ones load their permissions through java.io.File, which wants file: URIs.
        return files.stream().map(f -> new FileStatus(f.getLen(), f.isDirectory(), f.getReplication(),
            f.getBlockSize(), f.getModificationTime(), f.getPath())).toArray(FileStatus[]::new);
    }
}
