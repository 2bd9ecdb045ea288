package io.paratrain.sparktrainer.internal.fit;

import io.paratrain.gradientsharing.Collective;
import io.paratrain.sparktrainer.internal.snapshot.NetworkConfiguration;
import io.paratrain.sparktrainer.internal.snapshot.NetworkModel;

/**
 * What a rank starts from, handed to {@link Layout#start}.
 *
 * @param network       the whole starting model (restored, at a checkpoint's state when resuming); null on ranks
 *                      that do not hold it ({@link Layout#holdsWholeModel}).
 * @param configuration the model's configuration, also on ranks without the network.
 * @param settings      the fit's settings.
 */
public record RankStart(int rank, int worldSize, Collective collective, NetworkModel network,
    NetworkConfiguration configuration, FitSettings settings)
{
}
