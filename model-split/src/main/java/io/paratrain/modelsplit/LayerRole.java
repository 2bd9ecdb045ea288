package io.paratrain.modelsplit;

/**
 * How a rank holds one layer of a split network (the math of each is in {@code RankLayer}'s doc comment):
 * whole on rank 0, cut by columns, cut by columns as the first half of a Megatron pair, or cut by rows as its
 * second half.
 */
public enum LayerRole
{
    WHOLE, COLUMNS, COLUMNS_PAIRED, ROWS
}
