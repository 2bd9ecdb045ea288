package io.paratrain.sparktrainer.job;

import org.nd4j.linalg.dataset.DataSet;

import java.io.Serializable;

/**
 * One input record after parsing: an example with its smallest and largest feature (for the range check that
 * suggests {@code --feature-scale}), or the reason it was refused.
 */
record Parsed(DataSet example, float minFeature, float maxFeature, BadRecord bad) implements Serializable
{
    static Parsed refused(final BadRecord bad)
    {
        return new Parsed(null, Float.NaN, Float.NaN, bad);
    }
}
