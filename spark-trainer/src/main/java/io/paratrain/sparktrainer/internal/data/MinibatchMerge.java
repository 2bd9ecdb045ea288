package io.paratrain.sparktrainer.internal.data;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Arrays;
import java.util.List;

/**
 * One replica's minibatch of a step from the runs of examples it received, in global order. Runs of one
 * {@link ExampleLayout} are concatenated along the example dimension (any rank, masks included); time series of
 * different lengths (and with masks on some runs only) are padded to the longest with zero masks by DL4J's own
 * {@code MultiDataSet.merge}, as a single process that merges the step's examples pads them. (For one input and one
 * output it runs the same code as {@code DataSet.merge}, DL4J's {@code DataSetUtil.mergeFeatures/mergeLabels}, which
 * treat an absent mask array and an array of absent masks alike: the same bits.)
 * <p>
 * Padding is exact for the sum all-reduce: a padded time step has a zero mask, so it adds exactly 0 to every
 * gradient sum and to the loss, and DL4J divides both by the number of sequences (the minibatch size), not by the
 * number of unmasked steps; a replica may pad to a shorter length than the whole step's longest sequence, which
 * changes only which exact zeros are added. (Not so for DL4J's BatchNormalization, which counts padded steps: with
 * it, the replicas pad further, to the step's longest, before the step: {@link TimeSeriesPadding}.)
 */
public final class MinibatchMerge
{
    private MinibatchMerge()
    {
    }

    public static MultiDataSet merge(final List<MultiDataSet> runs)
    {
        if (runs.size() == 1)
        {
            return runs.get(0);
        }
        final long[] layout = ExampleLayout.of(runs.get(0));
        for (final MultiDataSet run : runs)
        {
            if (!Arrays.equals(layout, ExampleLayout.of(run)))
            {
                return org.nd4j.linalg.dataset.MultiDataSet.merge(runs);
            }
        }
        final INDArray[] merged = new INDArray[ExampleLayout.partCount(layout)];
        for (int part = 0; part < merged.length; part++)
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
        return ExampleLayout.assemble(merged, ExampleLayout.inputs(layout), ExampleLayout.outputs(layout));
    }
}
