package io.paratrain.sparktrainer.internal.data;

import org.apache.spark.api.java.JavaRDD;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * The pipeline's one example type is DL4J's {@link MultiDataSet} (any number of inputs and outputs, each with an
 * optional mask); a {@link DataSet} is the MultiDataSet with one input and one output, and goes in and out of the
 * pipeline by reference, without a copy ({@link #of}; back: {@code NetworkModel.dataSet}, where a
 * MultiLayerNetwork takes it).
 */
public final class Examples
{
    private Examples()
    {
    }

    /** {@code batch}'s features, labels and masks as a MultiDataSet with one input and one output (references). */
    public static MultiDataSet of(final DataSet batch)
    {
        return new org.nd4j.linalg.dataset.MultiDataSet(batch.getFeatures(), batch.getLabels(),
            batch.getFeaturesMaskArray(), batch.getLabelsMaskArray());
    }

    /**
     * The MultiDataSets of {@code data}'s DataSets, element by element in the same partitions (a map: a barrier stage
     * can still read the data's own partitions).
     */
    public static JavaRDD<MultiDataSet> of(final JavaRDD<DataSet> data)
    {
        return data.map(Examples::of);
    }

    /** Examples in {@code batch}: dimension 0 of its first input (0 when it has none). */
    public static int count(final MultiDataSet batch)
    {
        return batch.numFeatureArrays() == 0 || batch.getFeatures(0) == null ? 0 : (int)batch.getFeatures(0).size(0);
    }

    /** Examples {@code start .. end - 1} of {@code batch}, every array copied (not a view of the batch's). */
    public static MultiDataSet slice(final MultiDataSet batch, final int start, final int end)
    {
        final INDArray[] parts = ExampleLayout.parts(batch);
        final INDArray[] sliced = new INDArray[parts.length];
        for (int part = 0; part < parts.length; part++)
        {
            if (parts[part] != null)
            {
                final INDArrayIndex[] index = new INDArrayIndex[parts[part].rank()];
                index[0] = NDArrayIndex.interval(start, end);
                for (int d = 1; d < index.length; d++)
                {
                    index[d] = NDArrayIndex.all();
                }
                sliced[part] = parts[part].get(index).dup();
            }
        }
        return ExampleLayout.assemble(sliced, batch.numFeatureArrays(), batch.numLabelsArrays());
    }
}
