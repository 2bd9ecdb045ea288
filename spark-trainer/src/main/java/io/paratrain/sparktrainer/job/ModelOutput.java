package io.paratrain.sparktrainer.job;

import io.paratrain.sparktrainer.internal.checkpoint.AtomicFile;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.util.ModelSerializer;

import java.io.IOException;

/**
 * Writes a trained model as a DL4J ModelSerializer zip (with updater state, so training can continue) to any
 * Hadoop path through {@link AtomicFile}: a reader sees the old model or the whole new one, never half a model.
 */
public final class ModelOutput
{
    private ModelOutput()
    {
    }

    /** {@code model}: a MultiLayerNetwork or a ComputationGraph (ModelSerializer restores each with its own call). */
    public static void write(final Model model, final String destination, final Configuration hadoop)
        throws IOException
    {
        final Path target = new Path(destination);
        AtomicFile.write(AtomicFile.fileSystemOf(target, hadoop), target, hadoop,
            out -> ModelSerializer.writeModel(model, out, true));
    }
}
