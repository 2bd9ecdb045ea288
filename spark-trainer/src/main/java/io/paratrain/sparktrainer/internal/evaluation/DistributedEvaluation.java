package io.paratrain.sparktrainer.internal.evaluation;

import io.paratrain.sparktrainer.internal.snapshot.ModelSnapshot;
import io.paratrain.sparktrainer.internal.snapshot.NetworkModel;
import io.paratrain.sparktrainer.internal.snapshot.ShippedBytes;
import io.paratrain.sparktrainer.internal.snapshot.SnapshotBroadcast;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.nd4j.evaluation.IEvaluation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;

import java.util.ArrayList;
import java.util.List;

/**
 * Evaluation on executors: every task restores the whole trained model from one broadcast, evaluates its
 * partition's MultiDataSets as they are (no re-batching) with one empty evaluation per evaluated output, and
 * returns them; the driver merges each output's evaluations. As DL4J's {@code ComputationGraph.evaluate(iterator,
 * Map<Integer, IEvaluation[]>)}, output i's predictions are compared with labels i under labels mask i, and the
 * forward pass gets the features masks and the labels masks; the counts are DL4J's own on the same examples.
 */
public final class DistributedEvaluation
{
    private DistributedEvaluation()
    {
    }

    /** The evaluation of each of {@code evaluators}' outputs on {@code data}, in their order. */
    public static List<IEvaluation<?>> run(final JavaSparkContext sc, final NetworkModel network,
        final JavaRDD<MultiDataSet> data, final List<OutputEvaluator> evaluators)
    {
        final List<OutputEvaluator> shipped = List.copyOf(evaluators);
        final SnapshotBroadcast broadcast = SnapshotBroadcast.of(sc, ModelSnapshot.of(network, null));
        try
        {
            sc.setJobDescription("Paratrain evaluation");
            // as Java-serialized bytes, whatever spark.serializer is (ShippedBytes)
            final List<byte[]> partial = data.mapPartitions(batches ->
            {
                final NetworkModel replica = broadcast.value().restoreModel();
                final IEvaluation<?>[] evaluations = shipped.stream().map(OutputEvaluator::empty)
                    .toArray(IEvaluation<?>[]::new);
                batches.forEachRemaining(batch ->
                {
                    final INDArray[] predictions = replica.output(batch);
                    for (int i = 0; i < evaluations.length; i++)
                    {
                        final int output = shipped.get(i).index();
                        // with the masks: padded time steps count for nothing
                        evaluations[i].eval(batch.getLabels(output), predictions[output],
                            batch.getLabelsMaskArrays() == null ? null : batch.getLabelsMaskArray(output));
                    }
                });
                return List.of(ShippedBytes.encodeJava(evaluations)).iterator();
            }).collect();
            final List<List<IEvaluation<?>>> byOutput = new ArrayList<>();
            shipped.forEach(evaluator -> byOutput.add(new ArrayList<>()));
            for (final byte[] bytes : partial)
            {
                final IEvaluation<?>[] evaluations = ShippedBytes.decodeJava(bytes, IEvaluation[].class);
                for (int i = 0; i < evaluations.length; i++)
                {
                    byOutput.get(i).add(evaluations[i]);
                }
            }
            final List<IEvaluation<?>> merged = new ArrayList<>(shipped.size());
            for (int i = 0; i < shipped.size(); i++)
            {
                merged.add(shipped.get(i).merge(byOutput.get(i)));
            }
            return List.copyOf(merged);
        }
        finally
        {
            sc.setJobDescription(null);
            broadcast.destroy();
        }
    }
}
