package io.paratrain.sparktrainer;

import io.paratrain.sparktrainer.exceptions.TrainingInputException;
import io.paratrain.sparktrainer.internal.dataparallel.DataParallelLayout;
import io.paratrain.sparktrainer.internal.evaluation.DistributedEvaluation;
import io.paratrain.sparktrainer.internal.evaluation.OutputEvaluator;
import io.paratrain.sparktrainer.internal.fit.BarrierFit;
import io.paratrain.sparktrainer.internal.data.Examples;
import io.paratrain.sparktrainer.internal.data.ExportedDataSets;
import io.paratrain.sparktrainer.internal.snapshot.NetworkModel;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.core.loader.DataSetLoader;
import org.deeplearning4j.core.loader.MultiDataSetLoader;
import org.deeplearning4j.core.loader.impl.SerializedDataSetLoader;
import org.deeplearning4j.core.loader.impl.SerializedMultiDataSetLoader;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.evaluation.IEvaluation;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.evaluation.regression.RegressionEvaluation;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.MultiDataSet;

import java.util.List;

/**
 * Synchronous data-parallel training of a DL4J {@link MultiLayerNetwork} or {@link ComputationGraph} on Spark: the
 * direct Java API.
 * <pre>{@code
 * DataParallelTrainer trainer = new DataParallelTrainer(sc, TrainerConfig.builder().workers(4).build());
 * TrainingSummary summary = trainer.fit(network, trainingData);   // trains `network` in place
 * Evaluation evaluation = trainer.evaluate(network, testData);
 * }</pre>
 * A fit is one Spark barrier stage with one replica per task. Every replica starts from the network's current
 * state, trains on its share of each global step (see {@link ExamplePlan}), and averages gradients with an exact
 * ring all-reduce after every step, so the result equals single-process training with batch
 * workers x batchSizePerWorker on the same data in the same order.
 */
public final class DataParallelTrainer
{
    private final JavaSparkContext sc;
    private final TrainerConfig config;
    private final BarrierFit barrierFit;

    public DataParallelTrainer(final JavaSparkContext sc, final TrainerConfig config)
    {
        this.sc = sc;
        this.config = config;
        this.barrierFit = new BarrierFit(sc, new DataParallelLayout(config), DataParallelLayout.settings(config));
    }

    /**
     * Waits now, up to slotWaitMs, for the cluster to offer a task slot per worker, as each fit does first: a caller
     * that prepares its data before the fit (reading, checking) fails at once on a cluster that cannot run it, and
     * the next fit does not wait again.
     *
     * @param what what needs the slots, for the message when there are too few (e.g. "training with 4 workers").
     * @throws io.paratrain.sparktrainer.exceptions.InsufficientSlotsException when there are still too few.
     */
    public void awaitSlots(final String what)
    {
        barrierFit.awaitSlots(what, 1);
    }

    /**
     * As {@link #awaitSlots(String)}, for a caller that trains in several fits one after another (one epoch per fit,
     * say): none of the next {@code fits} fits waits again.
     *
     * @throws io.paratrain.sparktrainer.exceptions.TrainerConfigException when {@code fits} is below 1.
     */
    public void awaitSlots(final String what, final int fits)
    {
        barrierFit.awaitSlots(what, fits);
    }

    /** Called on the driver with every step's and epoch's metrics of the fits that follow. */
    public DataParallelTrainer addListener(final TrainingListener listener)
    {
        barrierFit.addListener(listener);
        return this;
    }

    public TrainerConfig config()
    {
        return config;
    }

    /**
     * Trains {@code network} in place on {@code data} (DataSets of any minibatch size, in RDD order). The data is
     * read twice (a count, then the routing to the replicas): cache it if it is expensive to compute.
     */
    public TrainingSummary fit(final MultiLayerNetwork network, final JavaRDD<DataSet> data)
    {
        return barrierFit.fit(NetworkModel.of(network), Examples.of(data), BarrierFit.DATA_SET);
    }

    /**
     * Trains {@code graph} (one input, one output) in place on {@code data}, as {@link #fit(MultiLayerNetwork,
     * JavaRDD)} does a MultiLayerNetwork.
     */
    public TrainingSummary fit(final ComputationGraph graph, final JavaRDD<DataSet> data)
    {
        return barrierFit.fit(NetworkModel.of(graph), Examples.of(data), BarrierFit.DATA_SET);
    }

    /**
     * Trains {@code graph} in place on {@code data}: MultiDataSets of any minibatch size, in RDD order, with as many
     * inputs and outputs as the graph (and their masks), as {@link #fit(MultiLayerNetwork, JavaRDD)} does a
     * MultiLayerNetwork. The result equals the graph's own {@code fit(MultiDataSet)} on minibatches of
     * workers x batchSizePerWorker of the same examples in the same order.
     */
    public TrainingSummary fitMultiDataSet(final ComputationGraph graph, final JavaRDD<MultiDataSet> data)
    {
        return barrierFit.fit(NetworkModel.of(graph), data, BarrierFit.MULTI_DATA_SET);
    }

    /**
     * Trains {@code network} in place on DataSets exported to files ({@code DataSet.save}, as DL4J's
     * {@code fitPaths} reads them), one DataSet per path on any Hadoop file system, in the paths' order. Each file is
     * loaded only where it is read, so neither the driver nor a replica holds the epoch; a replica whose examples
     * exceed {@link TrainerConfig#spillAboveBytes} spills them. A file that cannot be loaded fails the fit with its
     * path. The count before the training reads only each file's array headers (shapes and data types), so each
     * file's data is read once per fit.
     */
    public TrainingSummary fitPaths(final MultiLayerNetwork network, final JavaRDD<String> paths)
    {
        return fitPaths(network, paths, new SerializedDataSetLoader());
    }

    /**
     * As {@link #fitPaths(MultiLayerNetwork, JavaRDD)}, loading each file with {@code loader}. Unless it is DL4J's
     * {@link SerializedDataSetLoader} (whose files' headers give the count), {@code loader} loads each file twice per
     * fit: for the count, then for the training.
     */
    public TrainingSummary fitPaths(final MultiLayerNetwork network, final JavaRDD<String> paths,
        final DataSetLoader loader)
    {
        return barrierFit.fit(NetworkModel.of(network), ExportedDataSets.load(sc, paths, loader),
            BarrierFit.DATA_SET, ExportedDataSets.shapes(sc, paths, loader));
    }

    /**
     * Trains {@code graph} (one input, one output) in place on DataSets exported to files, as
     * {@link #fitPaths(MultiLayerNetwork, JavaRDD)} does a MultiLayerNetwork.
     */
    public TrainingSummary fitPaths(final ComputationGraph graph, final JavaRDD<String> paths)
    {
        return fitPaths(graph, paths, new SerializedDataSetLoader());
    }

    /**
     * As {@link #fitPaths(ComputationGraph, JavaRDD)}, loading each file with {@code loader} (twice per fit unless
     * it is DL4J's {@link SerializedDataSetLoader}, as for a MultiLayerNetwork).
     */
    public TrainingSummary fitPaths(final ComputationGraph graph, final JavaRDD<String> paths,
        final DataSetLoader loader)
    {
        return barrierFit.fit(NetworkModel.of(graph), ExportedDataSets.load(sc, paths, loader),
            BarrierFit.DATA_SET, ExportedDataSets.shapes(sc, paths, loader));
    }

    /**
     * Trains {@code graph} in place on MultiDataSets exported to files ({@code MultiDataSet.save}, as DL4J's
     * {@code fitPathsMultiDataSet} reads them), one MultiDataSet per path, as {@link #fitPaths(MultiLayerNetwork,
     * JavaRDD)} trains on DataSets.
     */
    public TrainingSummary fitPathsMultiDataSet(final ComputationGraph graph, final JavaRDD<String> paths)
    {
        return fitPathsMultiDataSet(graph, paths, new SerializedMultiDataSetLoader());
    }

    /**
     * As {@link #fitPathsMultiDataSet(ComputationGraph, JavaRDD)}, loading each file with {@code loader} (twice per
     * fit unless it is DL4J's {@link SerializedMultiDataSetLoader}, as for DataSets).
     */
    public TrainingSummary fitPathsMultiDataSet(final ComputationGraph graph, final JavaRDD<String> paths,
        final MultiDataSetLoader loader)
    {
        return barrierFit.fit(NetworkModel.of(graph), ExportedDataSets.loadMulti(sc, paths, loader),
            BarrierFit.MULTI_DATA_SET, ExportedDataSets.shapesMulti(sc, paths, loader));
    }

    /**
     * Accuracy, precision, recall, F1 and confusion matrix of {@code network} on {@code data}, computed on
     * executors.
     */
    public Evaluation evaluate(final MultiLayerNetwork network, final JavaRDD<DataSet> data)
    {
        return evaluate(NetworkModel.of(network), Examples.of(data));
    }

    /** As {@link #evaluate(MultiLayerNetwork, JavaRDD)}, for a graph with one input and one output. */
    public Evaluation evaluate(final ComputationGraph graph, final JavaRDD<DataSet> data)
    {
        return evaluate(NetworkModel.of(graph), Examples.of(data));
    }

    /**
     * As {@link #evaluate(MultiLayerNetwork, JavaRDD)}, for a graph with one output (a classifier) fed
     * MultiDataSets with as many inputs as the graph; a graph with several outputs: {@link #evaluateOutputs}.
     */
    public Evaluation evaluateMultiDataSet(final ComputationGraph graph, final JavaRDD<MultiDataSet> data)
    {
        if (graph.getNumOutputArrays() != 1)
        {
            throw new TrainingInputException("evaluateMultiDataSet classifies with one output; the graph has " +
                graph.getNumOutputArrays() + " (evaluate each output with evaluateOutputs)");
        }
        return evaluate(NetworkModel.of(graph), data);
    }

    /**
     * Each output of {@code graph} evaluated on {@code data} (MultiDataSets with as many inputs and outputs as the
     * graph, and their masks), computed on executors with the whole model, as DL4J's own
     * {@code ComputationGraph.evaluate(iterator, Map<Integer, IEvaluation[]>)} counts them in one process. In the
     * order of the graph's outputs ({@code getConfiguration().getNetworkOutputs()}): an {@link Evaluation} (accuracy,
     * precision, recall, F1, confusion matrix) for a classifier output (MCXENT or negative log-likelihood loss), an
     * {@link org.nd4j.evaluation.classification.EvaluationBinary} (counts per column at threshold 0.5) for a binary
     * output (XENT loss, e.g. sigmoid columns), a {@link RegressionEvaluation} (MSE, MAE, RMSE, R^2 per column) for
     * a regression output (MSE, L2, L1, MAE, MAPE or MSLE loss).
     *
     * @throws TrainingInputException before any Spark job, naming the output, when an output is neither (its layer
     *                                is not an output layer with nOut, or its loss another).
     */
    public List<IEvaluation<?>> evaluateOutputs(final ComputationGraph graph, final JavaRDD<MultiDataSet> data)
    {
        return DistributedEvaluation.run(sc, NetworkModel.of(graph), data,
            OutputEvaluator.of(graph.getConfiguration()));
    }

    private Evaluation evaluate(final NetworkModel network, final JavaRDD<MultiDataSet> data)
    {
        // the first output as a classifier whatever its loss, as before outputs were told apart
        final OutputEvaluator firstOutput = new OutputEvaluator(0, "output 0", OutputEvaluator.Kind.CLASSIFIER,
            network.outputSize());
        return (Evaluation)DistributedEvaluation.run(sc, network, data, List.of(firstOutput)).get(0);
    }
}
