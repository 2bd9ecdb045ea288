package io.paratrain.sparktrainer.internal.data;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Arrays;
import java.util.List;

/**
 * One replica's minibatch of a step from the runs of examples it received, in global order. Runs of one
 * {@link ExampleLayout} are concatenated along the example dimension (any rank, masks included); time series of
 * different lengths (and with masks on some runs only) are padded to the longest with zero masks by DL4J's own
 * {@code DataSet.merge}, as a single process that merges the step's examples pads them.
 * <p>
 * Padding is exact for the sum all-reduce: a padded time step has a zero mask, so it adds exactly 0 to every
 * gradient sum and to the loss, and DL4J divides both by the number of sequences (the minibatch size), not by the
 * number of unmasked steps; a replica may pad to a shorter length than the whole step's longest sequence, which
 * changes only which exact zeros are added.
 */
public final class MinibatchMerge
{
    private MinibatchMerge()
    {
    }

    public static DataSet merge(final List<DataSet> runs)
    {
        if (runs.size() == 1)
        {
            return runs.get(0);
        }
        final long[] layout = ExampleLayout.of(runs.get(0));
        for (final DataSet run : runs)
        {
            if (!Arrays.equals(layout, ExampleLayout.of(run)))
            {
                return DataSet.merge(runs);
            }
        }
        final INDArray[] merged = new INDArray[ExampleLayout.PARTS];
        for (int part = 0; part < ExampleLayout.PARTS; part++)
        {
            if (ExampleLayout.parts(runs.get(0))[part] == null)
            {
                continue;
            }
            final INDArray[] pieces = new INDArray[runs.size()];
            for (int r = 0; r < pieces.length; r++)
            {
                pieces[r] = ExampleLayout.parts(runs.get(r))[part];
            }
            merged[part] = Nd4j.concat(0, pieces);
        }
        return new DataSet(merged[0], merged[1], merged[2], merged[3]);
    }
}
