package io.paratrain.sparktrainer.job;

import java.util.Locale;
import java.util.Optional;

/**
 * The warning for features far outside [0, 1] or [-1, 1] (after --feature-scale): networks initialised for
 * unit-scale inputs train worse on, say, raw 0..255 pixels, and nothing else would tell the user.
 */
final class FeatureRange
{
    /** Largest |feature| taken as "unit scale": z-scores and [-1, 1] data stay below it, raw pixels do not. */
    static final float LIMIT = 10f;

    private FeatureRange()
    {
    }

    static Optional<String> warning(final float min, final float max, final JobOptions options)
    {
        if (Math.max(Math.abs(min), Math.abs(max)) <= LIMIT)
        {
            return Optional.empty();
        }
        final double scale = options.effectiveFeatureScale();
        return Optional.of(String.format(Locale.ROOT, "the training features span [%s, %s] after --feature-scale " +
            "%s, far beyond [0, 1] or [-1, 1] (|x| <= %s); networks train worse on such inputs: give " +
            "--feature-scale %s to map them into [-1, 1] (e.g. 0.00392157 = 1/255 for 8-bit pixels)", min, max,
            scale, LIMIT, String.format(Locale.ROOT, "%.6g", scale / Math.max(Math.abs(min), Math.abs(max)))));
    }
}
