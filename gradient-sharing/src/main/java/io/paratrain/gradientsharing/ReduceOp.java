package io.paratrain.gradientsharing;

/** How {@link Collective#allReduce} combines the ranks' arrays element by element. */
public enum ReduceOp
{
    /** The element-wise sum over all ranks. */
    SUM,
    /** The element-wise sum divided by the world size (computed once per element, so identical on every rank). */
    MEAN
}
