package io.paratrain.modelsplit.internal;

import java.util.List;

/**
 * Bytes that cross the transport in one {@code SplitRank} step, summed over all ranks (what each rank's
 * {@code bytesSent} adds up to, and equally {@code bytesReceived}). A frame is a 48-byte header (80 with HMAC)
 * plus at most C payload bytes, C = the collective's chunk (64 KiB MTU less headers, a multiple of 4); an operation
 * on L bytes uses f(L) = max(1, ceil(L / C)) frames per link. On the ring 0 -> 1 -> ... -> N-1 -> 0, with B the
 * batch size and h the frame header:
 * <pre>
 *   header broadcast:       (N-1) (16 + h)
 *   per split layer l (nIn, nOut, widths w_r):
 *     broadcast X:          (N-1) (4 B nIn  + h f(4 B nIn))       every link but N-1 -> 0 carries X once
 *     gather H:             sum_{r=1}^{N-1} (N-r) (4 B w_r + h f(4 B w_r))   rank r's block travels N-r links
 *     broadcast dH:         (N-1) (4 B nOut + h f(4 B nOut))
 *     reduce dX (l > 0):    (N-1) (4 B nIn  + h f(4 B nIn))       a chain of partial sums ending at rank 0
 *   whole layers:           0 (rank 0 only)
 * </pre>
 * Rank 0's own block in the gather never travels, which is why the gather is cheaper than a broadcast.
 */
public final class StepTraffic
{
    /** One layer of the network: its input and output widths and whether it is split. */
    public record Layer(long nIn, long nOut, boolean split)
    {
    }

    private StepTraffic()
    {
    }

    public static long perStep(final int shards, final int batch, final List<Layer> layers, final int chunkBytes,
                               final int frameHeaderBytes)
    {
        long bytes = broadcast(shards, StepHeader.BYTES, chunkBytes, frameHeaderBytes);
        for (int l = 0; l < layers.size(); l++)
        {
            final Layer layer = layers.get(l);
            if (!layer.split())
            {
                continue;
            }
            final long x = 4L * batch * layer.nIn();
            bytes += broadcast(shards, x, chunkBytes, frameHeaderBytes);
            final List<ColumnRange> ranges = ColumnRange.split(layer.nOut(), shards, "layer " + l);
            for (int r = 1; r < shards; r++)
            {
                final long block = 4L * batch * ranges.get(r).width();
                bytes += (shards - r) * (block + frameHeaderBytes * frames(block, chunkBytes));
            }
            bytes += broadcast(shards, 4L * batch * layer.nOut(), chunkBytes, frameHeaderBytes);
            if (l > 0)
            {
                bytes += broadcast(shards, x, chunkBytes, frameHeaderBytes);
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
