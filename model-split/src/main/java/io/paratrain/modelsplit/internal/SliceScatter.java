package io.paratrain.modelsplit.internal;

import io.paratrain.gradientsharing.Collective;
import io.paratrain.gradientsharing.exceptions.CollectiveException;
import io.paratrain.modelsplit.exceptions.ShardFailedException;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.util.List;

/**
 * Start-up: rank 0 holds the initial network and every other rank receives only its own slices (values and
 * updater state). The collective has no scatter, so rank 0 broadcasts rank r's slice for r = 1..N-1 in pieces of
 * at most {@link #PIECE_FLOATS}; rank r keeps it, the others pass it on through a scratch piece. Peak memory on a
 * shard is its slices plus one piece; the traffic, once per fit, is (N-1) x the split layers' slices for ranks
 * 1..N-1 (for N = 2 exactly what a scatter would send).
 */
public final class SliceScatter
{
    /** 4 MiB of floats: bounds the scratch memory of a rank that passes a piece on. */
    static final int PIECE_FLOATS = 1 << 20;

    private SliceScatter()
    {
    }

    /**
     * Every rank calls this with its freshly allocated model; rank 0 passes the network (whose updater has been
     * built), the others null.
     */
    public static void scatter(final Collective ring, final RankModel model, final MultiLayerNetwork network)
    {
        final int rank = ring.rank();
        final INDArray scratch = rank == 0 ? null : Nd4j.createUninitialized(DataType.FLOAT, 1, PIECE_FLOATS);
        for (final RankLayer layer : model.layers())
        {
            for (final RankLayer.SplitParam param : layer.splitParams())
            {
                final List<INDArray> full = rank == 0
                    ? NetworkItems.of(network, layer.index(), param.param(), param.items().size()) : null;
                for (int item = 0; item < param.items().size(); item++)
                {
                    final INDArray mine = param.items().get(item);
                    if (rank == 0)
                    {
                        mine.assign(param.layout().cut(full.get(item), 0));
                    }
                    for (int target = 1; target < ring.worldSize(); target++)
                    {
                        final INDArray source = rank == 0 ? param.layout().cut(full.get(item), target)
                            : target == rank ? mine : null;
                        sendPieces(ring, source, scratch, param.layout().length(target),
                            "layer " + layer.index() + " " + param.param() + " item " + item + " for rank " + target);
                    }
                }
            }
            final List<INDArray> head = layer.headBiasItems();
            if (!head.isEmpty())
            {
                RankModel.assign(head, NetworkItems.of(network, layer.index(), "b", head.size()));
            }
        }
        if (rank == 0)
        {
            model.copyWholeLayers(network);
        }
    }

    /** Broadcasts {@code length} floats of rank 0's {@code source} into the target rank's {@code source}. */
    private static void sendPieces(final Collective ring, final INDArray source, final INDArray scratch,
                                   final long length, final String what)
    {
        for (long from = 0; from < length; from += PIECE_FLOATS)
        {
            final long to = Math.min(length, from + PIECE_FLOATS);
            final INDArray piece = source != null ? range(source, from, to) : range(scratch, 0, to - from);
            try
            {
                ring.broadcast(piece, 0);
            }
            catch (final CollectiveException ex)
            {
                throw new ShardFailedException("rank " + ring.rank() + ": start-up scatter of " + what
                    + " failed: " + ex.getMessage(), ex);
            }
        }
    }

    private static INDArray range(final INDArray row, final long from, final long to)
    {
        return row.get(NDArrayIndex.interval(0, 0, true), NDArrayIndex.interval(from, to));
    }
}
