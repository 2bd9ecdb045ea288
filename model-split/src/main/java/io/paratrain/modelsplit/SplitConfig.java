package io.paratrain.modelsplit;

import io.paratrain.modelsplit.exceptions.SplitConfigException;

import java.util.Collections;
import java.util.Set;
import java.util.TreeSet;

/**
 * Which layers to split by columns and into how many shards; every other layer is kept whole.
 *
 * @param shards      N, the number of column shards of every split layer (>= 1).
 * @param splitLayers indices of the layers to split, in the network's order (0 = first layer).
 */
public record SplitConfig(int shards, Set<Integer> splitLayers)
{
    public SplitConfig
    {
        if (shards < 1)
        {
            throw new SplitConfigException("shards must be >= 1, found " + shards);
        }
        if (splitLayers == null)
        {
            throw new SplitConfigException("splitLayers must not be null (use an empty set to split nothing)");
        }
        for (final Integer index : splitLayers)
        {
            if (index == null || index < 0)
            {
                throw new SplitConfigException("splitLayers must hold layer indices >= 0, found " + index);
            }
        }
        // Sorted, so that toString (compared between rank JVMs by SplitRank) is the same in every JVM: Set.copyOf
        // iterates in an order salted per JVM.
        splitLayers = Collections.unmodifiableSortedSet(new TreeSet<>(splitLayers));
    }

    /** Splits the given layers into {@code shards} column shards each. */
    public static SplitConfig of(final int shards, final int... layers)
    {
        final Set<Integer> set = new TreeSet<>();
        for (final int layer : layers)
        {
            set.add(layer);
        }
        return new SplitConfig(shards, set);
    }

    /** Number of shards layer {@code index} is cut into: N when it is split, else 1. */
    public int shardsOf(final int index)
    {
        return splitLayers.contains(index) ? shards : 1;
    }
}
