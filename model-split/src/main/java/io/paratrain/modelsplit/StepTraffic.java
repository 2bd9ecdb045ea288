package io.paratrain.modelsplit;

import io.paratrain.modelsplit.internal.ColumnRange;
import io.paratrain.modelsplit.internal.StepHeader;

import java.util.ArrayList;
import java.util.List;

/**
 * Bytes that cross the transport in one {@code SplitRank} step, summed over all ranks (what each rank's
 * {@code bytesSent} adds up to, and equally {@code bytesReceived}). A frame is a 48-byte header (80 with HMAC)
 * plus at most C payload bytes, C = the collective's chunk (64 KiB MTU less headers, a multiple of 4); an operation
 * on L bytes uses f(L) = max(1, ceil(L / C)) frames per link. On the ring 0 -> 1 -> ... -> N-1 -> 0, with B the
 * batch size, h the frame header and one(L) = (N-1) (L + h f(L)) (a broadcast from, or a chain reduce to, rank 0:
 * every link but N-1 -> 0 carries L once):
 * <pre>
 *   header broadcast:                     one(16)
 *   per layer l (nIn, nOut, widths w_r), by its role:
 *     COLUMNS:         one(4 B nIn)                                   broadcast X
 *                      + sum_{r=1}^{N-1} (N-r) (4 B w_r + h f(4 B w_r))  gather H: rank r's block travels N-r links
 *                      + one(4 B nOut)                                broadcast dH
 *                      + one(4 B nIn) if l > 0                        reduce dX
 *     COLUMNS_PAIRED:  one(4 B nIn) + one(4 B nIn) if l > 0           broadcast X, reduce dX (H_r, dH_r stay local)
 *     ROWS:            one(4 B nOut) + one(4 B nOut)                  reduce Z, broadcast dZ
 *     WHOLE:           0 (rank 0 only)
 * </pre>
 * Rank 0's own block in the gather never travels, which is why the gather is cheaper than a broadcast. A pair
 * (l by columns, l+1 by rows) thus replaces gather H + broadcast dH + broadcast H + gather H' + broadcast dH' +
 * reduce dH by reduce Z + broadcast dZ.
 */
public final class StepTraffic
{
    /** One layer of the network: its input and output widths and how it is held. */
    public record Layer(long nIn, long nOut, LayerRole role)
    {
        /** A whole layer, or one split by columns without pairing. */
        public Layer(final long nIn, final long nOut, final boolean split)
        {
            this(nIn, nOut, split ? LayerRole.COLUMNS : LayerRole.WHOLE);
        }
    }

    private StepTraffic()
    {
    }

    /** The layers of an MLP of the given widths (input, hidden..., output) under {@code split}. */
    public static List<Layer> layers(final long[] widths, final SplitConfig split)
    {
        final List<Layer> layers = new ArrayList<>();
        for (int l = 0; l < widths.length - 1; l++)
        {
            final LayerRole role = !split.splitLayers().contains(l) ? LayerRole.WHOLE
                : split.splitByRows(l) ? LayerRole.ROWS
                : split.pairedWithNext(l) ? LayerRole.COLUMNS_PAIRED : LayerRole.COLUMNS;
            layers.add(new Layer(widths[l], widths[l + 1], role));
        }
        return layers;
    }

    public static long perStep(final int shards, final int batch, final List<Layer> layers, final int chunkBytes,
                               final int frameHeaderBytes)
    {
        long bytes = broadcast(shards, StepHeader.BYTES, chunkBytes, frameHeaderBytes);
        for (int l = 0; l < layers.size(); l++)
        {
            final Layer layer = layers.get(l);
            final long x = 4L * batch * layer.nIn();
            final long y = 4L * batch * layer.nOut();
            switch (layer.role())
            {
                case WHOLE ->
                {
                }
                case ROWS -> bytes += 2 * broadcast(shards, y, chunkBytes, frameHeaderBytes);
                case COLUMNS_PAIRED -> bytes += (l > 0 ? 2 : 1) * broadcast(shards, x, chunkBytes, frameHeaderBytes);
                case COLUMNS ->
                {
                    bytes += broadcast(shards, x, chunkBytes, frameHeaderBytes);
                    final List<ColumnRange> ranges = ColumnRange.split(layer.nOut(), shards, "layer " + l);
                    for (int r = 1; r < shards; r++)
                    {
                        final long block = 4L * batch * ranges.get(r).width();
                        bytes += (shards - r) * (block + frameHeaderBytes * frames(block, chunkBytes));
                    }
                    bytes += broadcast(shards, y, chunkBytes, frameHeaderBytes);
                    if (l > 0)
                    {
                        bytes += broadcast(shards, x, chunkBytes, frameHeaderBytes);
                    }
                }
            }
        }
        return bytes;
    }

    /** A broadcast from one root, or a chain reduce to one root, of {@code bytes}: every one of N-1 links once. */
    static long broadcast(final int shards, final long bytes, final int chunkBytes, final int frameHeaderBytes)
    {
        return (shards - 1) * (bytes + frameHeaderBytes * frames(bytes, chunkBytes));
    }

    static long frames(final long bytes, final int chunkBytes)
    {
        return Math.max(1, (bytes + chunkBytes - 1) / chunkBytes);
    }
}
