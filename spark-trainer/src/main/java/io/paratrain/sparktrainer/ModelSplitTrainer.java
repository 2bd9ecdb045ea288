package io.paratrain.sparktrainer;

import io.paratrain.modelsplit.ModelSupport;
import io.paratrain.modelsplit.SplitConfig;
import io.paratrain.modelsplit.exceptions.ModelSplitException;
import io.paratrain.sparktrainer.exceptions.TrainerConfigException;
import io.paratrain.sparktrainer.internal.data.Examples;
import io.paratrain.sparktrainer.internal.fit.BarrierFit;
import io.paratrain.sparktrainer.internal.data.Examples;
import io.paratrain.sparktrainer.internal.fit.Layout;
import io.paratrain.sparktrainer.internal.modelsplit.ModelSplitLayout;
import io.paratrain.sparktrainer.internal.snapshot.NetworkModel;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.dataset.DataSet;

import java.util.TreeSet;

/**
 * Model-split training of a DL4J {@link MultiLayerNetwork} on Spark: the chosen dense/output layers are cut by
 * columns into N shards, one per task of a single Spark barrier stage.
 * <pre>{@code
 * ModelSplitTrainer trainer = new ModelSplitTrainer(sc, ModelSplitConfig.builder(SplitConfig.of(2, 0, 1)).build());
 * TrainingSummary summary = trainer.fit(network, trainingData);   // trains `network` in place
 * }</pre>
 * The data is regrouped into minibatches of {@code batchSize} in RDD order (the last may be smaller; none is
 * dropped) and all of it goes to the task of rank 0, the coordinator, which runs the unsplit layers, the loss and
 * shard 0; ranks 1..N-1 hold no data, only their shards. The result equals {@code MultiLayerNetwork.fit} on the
 * same minibatches, up to the order of float additions (see {@link io.paratrain.modelsplit.SplitRank}).
 * <p>
 * A fit runs through the same pipeline as {@link DataParallelTrainer} ({@code BarrierFit}): listeners and live
 * progress, checkpoints and resume (a checkpoint gathers every shard's slices to rank 0, which writes it), a stage
 * Spark retries when checkpoints are on, the same-JVM handoff in local mode, slot waiting, thread limits, the
 * authenticated channel, and a {@link io.paratrain.sparktrainer.exceptions.ShardLostException} carrying the tasks'
 * own errors when a shard fails.
 */
public final class ModelSplitTrainer
{
    private final ModelSplitConfig config;
    private final BarrierFit barrierFit;

    public ModelSplitTrainer(final JavaSparkContext sc, final ModelSplitConfig config)
    {
        this(sc, config, new ModelSplitLayout(config));
    }

    /** Tests: a variant of the layout (say, one whose shard fails on purpose). */
    ModelSplitTrainer(final JavaSparkContext sc, final ModelSplitConfig config, final Layout layout)
    {
        this.config = config;
        this.barrierFit = new BarrierFit(sc, layout, ModelSplitLayout.settings(config));
    }

    public ModelSplitConfig config()
    {
        return config;
    }

    /** Called on the driver with every step's and epoch's metrics (rank 0 drives the steps). */
    /**
     * Waits now, up to slotWaitMs, for the cluster to offer a task slot per shard, as each fit does first: a caller
     * that prepares its data before the fit (reading, checking) fails at once on a cluster that cannot run it, and
     * the next fit does not wait again.
     *
     * @param what what needs the slots, for the message when there are too few (e.g. "training with 4 shards").
     * @throws io.paratrain.sparktrainer.exceptions.InsufficientSlotsException when there are still too few.
     */
    public void awaitSlots(final String what)
    {
        barrierFit.awaitSlots(what, 1);
    }

    public ModelSplitTrainer addListener(final TrainingListener listener)
    {
        barrierFit.addListener(listener);
        return this;
    }

    /**
     * Checks on the driver that {@code split} can be applied to {@code conf} (layer indices, layer types,
     * activations, updaters), so a bad choice fails before any task starts.
     *
     * @throws TrainerConfigException naming the layer and what is wrong.
     */
    public static void check(final MultiLayerConfiguration conf, final SplitConfig split)
    {
        try
        {
            ModelSupport.check(conf, split.splitLayers());
        }
        catch (final ModelSplitException ex)
        {
            throw new TrainerConfigException("cannot split layers " + new TreeSet<>(split.splitLayers()) + " into " +
                split.shards() + " shards: " + ex.getMessage());
        }
    }

    /** Trains {@code network} in place on {@code data} (DataSets of any size, in RDD order); read twice. */
    public TrainingSummary fit(final MultiLayerNetwork network, final JavaRDD<DataSet> data)
    {
        check(network.getLayerWiseConfigurations(), config.split());
        return barrierFit.fit(NetworkModel.of(network), Examples.of(data), BarrierFit.DATA_SET);
    }
}
