package io.paratrain.modelsplit.internal;

import io.paratrain.modelsplit.exceptions.SplitInputException;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;

import java.util.Arrays;

/** The minibatch shapes a split network trains on: features [batch, nIn], labels [batch, nOut], no masks. */
public final class MinibatchCheck
{
    private MinibatchCheck()
    {
    }

    /** Checks {@code minibatch} and returns its labels in {@code dataType}. */
    public static INDArray labels(final DataSet minibatch, final long nOut, final DataType dataType)
    {
        if (minibatch.getFeaturesMaskArray() != null || minibatch.getLabelsMaskArray() != null)
        {
            throw new SplitInputException("minibatch has mask arrays: not supported");
        }
        final INDArray features = minibatch.getFeatures();
        final INDArray labels = minibatch.getLabels();
        if (features == null || labels == null || features.rank() != 2 || labels.rank() != 2
            || labels.rows() != features.rows() || labels.columns() != nOut || features.rows() == 0)
        {
            throw new SplitInputException("expected features [batch, nIn] and labels [batch, " + nOut
                + "] with batch > 0, found " + (features == null ? "null" : Arrays.toString(features.shape())) + " and "
                + (labels == null ? "null" : Arrays.toString(labels.shape())));
        }
        return labels.castTo(dataType);
    }
}
