package io.paratrain.sparktrainer.internal.data;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.nd4j.common.loader.Source;

import java.io.IOException;
import java.io.InputStream;

/** A path on a Hadoop file system, for DL4J's loaders: opened when the loader asks for its stream. */
public record HadoopFileSource(String path, Configuration conf) implements Source
{
    @Override
    public InputStream getInputStream() throws IOException
    {
        final Path file = new Path(path);
        return file.getFileSystem(conf).open(file);
    }

    @Override
    public String getPath()
    {
        return path;
    }
}
