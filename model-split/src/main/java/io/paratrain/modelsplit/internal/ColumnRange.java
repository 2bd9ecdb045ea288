package io.paratrain.modelsplit.internal;

import io.paratrain.modelsplit.exceptions.SplitConfigException;

import java.util.ArrayList;
import java.util.List;

/**
 * Columns [start, end) of a layer's weight matrix held by one shard.
 * <p>
 * {@link #split} cuts nOut columns into N contiguous ranges whose widths differ by at most one: the first
 * nOut mod N shards get floor(nOut / N) + 1 columns, the others floor(nOut / N).
 */
public record ColumnRange(long start, long end)
{
    public ColumnRange
    {
        if (start < 0 || end <= start)
        {
            throw new SplitConfigException("column range needs 0 <= start < end, found [" + start + ", " + end + ")");
        }
    }

    public long width()
    {
        return end - start;
    }

    /**
     * @param columns   nOut of the layer.
     * @param shards    N.
     * @param layerName named in the error ("layer 2 (wide)") when the layer has fewer columns than shards.
     */
    public static List<ColumnRange> split(final long columns, final int shards, final String layerName)
    {
        if (shards < 1)
        {
            throw new SplitConfigException("shards must be >= 1, found " + shards + " for " + layerName);
        }
        if (columns < shards)
        {
            throw new SplitConfigException(layerName + " has " + columns + " output columns, fewer than the "
                + shards + " shards asked for: every shard needs at least one column");
        }
        final long base = columns / shards;
        final long wider = columns % shards;
        final List<ColumnRange> ranges = new ArrayList<>(shards);
        long start = 0;
        for (int i = 0; i < shards; i++)
        {
            final long width = base + (i < wider ? 1 : 0);
            ranges.add(new ColumnRange(start, start + width));
            start += width;
        }
        return ranges;
    }
}
