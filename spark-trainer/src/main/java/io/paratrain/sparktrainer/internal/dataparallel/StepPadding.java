package io.paratrain.sparktrainer.internal.dataparallel;

import io.paratrain.gradientsharing.Collective;
import io.paratrain.sparktrainer.internal.data.TimeSeriesPadding;
import org.nd4j.linalg.dataset.api.MultiDataSet;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Makes the replicas' minibatches of a step, together, the rows of the minibatch one process builds from the step's
 * examples, for a network with synchronized BatchNormalization: each replica's minibatch is padded to the step's
 * longest time series over all replicas ({@link TimeSeriesPadding}), not only to its own slice's longest.
 * <p>
 * Why: DL4J's BatchNormalization on time series (between an RnnToFeedForwardPreProcessor and a
 * FeedForwardToRnnPreProcessor, each channel over examples x time steps) ignores masks, so a padded step counts in
 * its mean and variance with the value the layer before gives it. One process pads every sequence of a step to the
 * step's longest; so must the replicas. Other layers are indifferent to the extra steps, which are masked: they add
 * exact zeros to the gradient sums and the loss (see {@code MinibatchMerge}), as they do in the one process.
 * <p>
 * Before each step every replica gathers every other's {@link TimeSeriesPadding#describe} (a few bytes, one
 * all-gather with the collective's deadline); a replica without examples in the step contributes nothing and pads
 * nothing. When the first step shows no time series at all, no later step has one (every minibatch of a fit has one
 * layout but for time lengths and masks), and the replicas, which all saw the same, stop gathering.
 */
final class StepPadding
{
    private final Collective collective;
    private final byte[] nothing = new byte[0];
    private boolean gathering = true;

    StepPadding(final Collective collective)
    {
        this.collective = collective;
    }

    /** {@code local} padded to the step's longest time series; null (no examples in this step) stays null. */
    MultiDataSet apply(final MultiDataSet local)
    {
        if (!gathering)
        {
            return local;
        }
        final byte[][] gathered = collective.allGather(local == null ? nothing : encode(TimeSeriesPadding.describe(
            local)));
        final List<int[]> descriptions = new ArrayList<>();
        for (final byte[] description : gathered)
        {
            if (description.length > 0)
            {
                descriptions.add(decode(description));
            }
        }
        final int[] step = TimeSeriesPadding.combine(descriptions.toArray(int[][]::new));
        if (!TimeSeriesPadding.hasTimeSeries(step))
        {
            gathering = false;
            return local;
        }
        return local == null ? null : TimeSeriesPadding.pad(local, step);
    }

    private static byte[] encode(final int[] values)
    {
        final ByteBuffer bytes = ByteBuffer.allocate(values.length * Integer.BYTES);
        bytes.asIntBuffer().put(values);
        return bytes.array();
    }

    private static int[] decode(final byte[] bytes)
    {
        final int[] values = new int[bytes.length / Integer.BYTES];
        ByteBuffer.wrap(bytes).asIntBuffer().get(values);
        return values;
    }
}
