package io.paratrain.sparktrainer.job;

import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.mapreduce.JobContext;
import org.apache.hadoop.mapreduce.lib.input.TextInputFormat;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Hadoop's text input with the files of a folder or glob in name (path) order. FileInputFormat keeps the file
 * system's listing order, which differs between file systems (and between list threads), and the example order
 * decides the model: sorted, the same data gives the same model anywhere.
 */
public final class NameOrderTextInputFormat extends TextInputFormat
{
    @Override
    protected List<FileStatus> listStatus(final JobContext job) throws IOException
    {
        final List<FileStatus> files = new ArrayList<>(super.listStatus(job));
        files.sort(Comparator.comparing(status -> status.getPath().toString()));
        return files;
    }
}
