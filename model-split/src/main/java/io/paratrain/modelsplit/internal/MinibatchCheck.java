package io.paratrain.modelsplit.internal;

import io.paratrain.modelsplit.exceptions.SplitInputException;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;

import java.util.Arrays;

/**
 * The minibatch shapes a split network trains on: features [batch, nIn], labels [batch, nOut], optionally a labels
 * mask [batch, 1] (per example) or [batch, nOut] (per output), no features mask.
 * <p>
 * A labels mask only enters the loss, which rank 0 computes alone, so it costs the other ranks nothing. A features
 * mask would zero whole examples' activations in every layer (DL4J's {@code BaseLayer.applyMask}), so every shard
 * would need it: not supported (data-parallel training takes features masks).
 */
public final class MinibatchCheck
{
    private MinibatchCheck()
    {
    }

    /** The loss inputs of a checked minibatch, in the split network's data type. */
    public record LossInputs(INDArray labels, INDArray labelsMask)
    {
    }

    /** Checks {@code minibatch} and returns its labels (and labels mask, or null) in {@code dataType}. */
    public static LossInputs lossInputs(final DataSet minibatch, final long nOut, final DataType dataType)
    {
        if (minibatch.getFeaturesMaskArray() != null)
        {
            throw new SplitInputException("minibatch has a features mask " + Arrays.toString(
                minibatch.getFeaturesMaskArray().shape()) + ": model split supports a labels mask but not a"
                + " features mask; drop the masked examples, or train with data-parallel training, which takes both");
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
        final INDArray mask = minibatch.getLabelsMaskArray();
        if (mask != null && (mask.rank() != 2 || mask.rows() != labels.rows()
            || (mask.columns() != 1 && mask.columns() != nOut)))
        {
            throw new SplitInputException("expected a labels mask [" + labels.rows() + ", 1] or [" + labels.rows()
                + ", " + nOut + "], found " + Arrays.toString(mask.shape()));
        }
        return new LossInputs(labels.castTo(dataType), mask == null ? null : mask.castTo(dataType));
    }
}
