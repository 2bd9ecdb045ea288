package io.paratrain.sparktrainer.job;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.Path;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;

import java.io.IOException;
import java.util.UUID;

/**
 * Writes a trained model as a DL4J ModelSerializer zip (with updater state, so training can continue) to any
 * Hadoop path: first to a hidden temporary name beside it, then renamed, so a reader never sees half a model.
 */
public final class ModelOutput
{
    private ModelOutput()
    {
    }

    /**
     * Hadoop's local file system writes a {@code .<name>.crc} file beside every file it creates, which would be left
     * next to the user's model; its raw file system writes only the file (the zip carries CRCs of its own).
     */
    private static FileSystem withoutSideFiles(final FileSystem fs)
    {
        return fs instanceof LocalFileSystem local ? local.getRawFileSystem() : fs;
    }

    public static void write(final MultiLayerNetwork network, final String destination, final Configuration hadoop)
        throws IOException
    {
        final Path target = new Path(destination);
        final FileSystem fs = withoutSideFiles(target.getFileSystem(hadoop));
        final Path temp = new Path(target.getParent() == null ? new Path(".") : target.getParent(),
            "." + target.getName() + ".tmp-" + UUID.randomUUID());
        try
        {
            try (FSDataOutputStream out = fs.create(temp, false))
            {
                ModelSerializer.writeModel(network, out, true);
            }
            if (fs.exists(target) && !fs.delete(target, false))
            {
                throw new IOException("cannot replace the existing " + target);
            }
            if (!fs.rename(temp, target))
            {
                throw new IOException("cannot rename " + temp + " to " + target);
            }
        }
        finally
        {
            if (fs.exists(temp))
            {
                fs.delete(temp, false);
            }
        }
    }
}
