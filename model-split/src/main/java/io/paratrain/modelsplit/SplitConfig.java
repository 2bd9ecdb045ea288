package io.paratrain.modelsplit;

import io.paratrain.modelsplit.exceptions.SplitConfigException;

import java.io.Serializable;
import java.util.Collections;
import java.util.Set;
import java.util.TreeSet;

/**
 * Which layers to split and into how many shards; every other layer is kept whole.
 *
 * @param shards      N, the number of shards of every split layer (>= 1).
 * @param splitLayers indices of the layers to split, in the network's order (0 = first layer).
 * @param paired      Megatron-style pairing: when split layers l and l+1 follow each other, l is split by columns
 *                    and l+1 by rows, and l's output H_r stays on rank r (one sum-reduce of l+1's partial
 *                    pre-activations replaces the gather of H and the broadcast of H). Pairs are taken greedily
 *                    from the first layer: split layers {0, 1, 2} pair (0, 1) and split 2 by columns alone.
 *                    Without pairing every split layer is split by columns.
 */
public record SplitConfig(int shards, Set<Integer> splitLayers, boolean paired) implements Serializable
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

    /** Every split layer by columns (no pairing). */
    public SplitConfig(final int shards, final Set<Integer> splitLayers)
    {
        this(shards, splitLayers, false);
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

    /** The same split with Megatron-style pairing of consecutive split layers. */
    public SplitConfig withPairing()
    {
        return new SplitConfig(shards, splitLayers, true);
    }

    /** Number of shards layer {@code index} is cut into: N when it is split, else 1. */
    public int shardsOf(final int index)
    {
        return splitLayers.contains(index) ? shards : 1;
    }

    /** True when layer {@code index} is the second of a pair: split by rows, its input rows stay on the shards. */
    public boolean splitByRows(final int index)
    {
        if (!paired || !splitLayers.contains(index))
        {
            return false;
        }
        int run = 0;
        for (int l = index - 1; l >= 0 && splitLayers.contains(l); l--)
        {
            run++;
        }
        return run % 2 == 1;
    }

    /** True when layer {@code index} is the first of a pair: split by columns, its output stays on the shards. */
    public boolean pairedWithNext(final int index)
    {
        return paired && splitLayers.contains(index) && !splitByRows(index) && splitLayers.contains(index + 1);
    }
}
