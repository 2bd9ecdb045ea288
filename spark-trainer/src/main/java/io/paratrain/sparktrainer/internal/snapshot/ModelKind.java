package io.paratrain.sparktrainer.internal.snapshot;

/** Which of DL4J's two model types a snapshot, checkpoint or replica holds. */
public enum ModelKind
{
    /** {@code MultiLayerNetwork}, configured by a {@code MultiLayerConfiguration}. */
    MULTI_LAYER,
    /** {@code ComputationGraph}, configured by a {@code ComputationGraphConfiguration}. */
    GRAPH
}
