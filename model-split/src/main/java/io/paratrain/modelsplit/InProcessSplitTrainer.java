package io.paratrain.modelsplit;

import io.paratrain.modelsplit.exceptions.SplitConfigException;
import io.paratrain.modelsplit.internal.MinibatchCheck;
import io.paratrain.modelsplit.ModelSupport;
import io.paratrain.modelsplit.internal.NetworkTransfer;
import io.paratrain.modelsplit.internal.SplitDenseLayer;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;

import java.util.ArrayList;
import java.util.List;

/**
 * Trains an MLP with chosen layers split into column shards, every shard in this JVM: the single-process reference
 * for distributed model-split training, and equal (to float rounding) to {@code MultiLayerNetwork.fit} on the same
 * minibatches. One step:
 * <pre>
 *   forward:  H_0 = X;  H_l = [act_l(H_{l-1} W_l,i + b_l,i)]_i        (gather by columns)
 *             Z_L = [H_{L-1} W_L,i + b_L,i]_i,  dZ_L = loss'(labels, Z_L)   (loss on the gathered row)
 *   backward: dH_{l-1} = sum_i dZ_l,i W_l,i^T                          (sum of partials)
 *   update:   each shard, its slice, DL4J's updater with the minibatch size, iteration and epoch
 * </pre>
 * Whole layers are the same code with one shard. The network passed in is not modified; {@link #toNetwork()}
 * assembles a new one.
 */
public final class InProcessSplitTrainer
{
    private final MultiLayerConfiguration conf;
    private final DataType dataType;
    private final List<SplitDenseLayer> layers;
    private final OutputLayer output;
    private int iteration;
    private int epoch;

    /**
     * @param network an initialized network: its parameters, updater state (if built), iteration and epoch
     *                counts are the starting point.
     */
    public InProcessSplitTrainer(final MultiLayerNetwork network, final SplitConfig split)
    {
        this.conf = network.getLayerWiseConfigurations();
        if (split.paired())
        {
            throw new SplitConfigException("pairing (split by rows) runs across ranks only: use SplitRank, or an "
                + "unpaired SplitConfig here");
        }
        ModelSupport.check(conf, split.splitLayers());
        this.dataType = network.params().dataType();
        final boolean divideByMinibatch = network.conf().isMiniBatch();
        final List<SplitDenseLayer> built = new ArrayList<>();
        for (int i = 0; i < network.getnLayers(); i++)
        {
            final BaseLayer layerConf = (BaseLayer)conf.getConf(i).getLayer();
            built.add(SplitDenseLayer.of(i, layerConf, network.getLayer(i).getParam("W"),
                network.getLayer(i).paramTable().get("b"), split.shardsOf(i), divideByMinibatch));
        }
        this.layers = List.copyOf(built);
        this.output = (OutputLayer)conf.getConf(layers.size() - 1).getLayer();
        NetworkTransfer.scatterUpdaterState(network, layers);
        this.iteration = network.getIterationCount();
        this.epoch = network.getEpochCount();
    }

    /**
     * One step on one minibatch, as {@code MultiLayerNetwork.fit(DataSet)} does it.
     *
     * @return the minibatch's mean loss (without regularization terms).
     */
    public double fit(final DataSet minibatch)
    {
        final MinibatchCheck.LossInputs loss = MinibatchCheck.lossInputs(minibatch, layers.get(layers.size() - 1).shards().stream()
            .mapToLong(s -> s.range().width()).sum(), dataType);
        final int batchSize = (int)minibatch.getFeatures().rows();
        final int last = layers.size() - 1;

        INDArray h = minibatch.getFeatures().castTo(dataType);
        for (int l = 0; l < last; l++)
        {
            h = layers.get(l).forward(h);
        }
        final INDArray z = layers.get(last).preActivation(h);
        final double score = output.getLossFn().computeScore(loss.labels(), z.dup(), output.getActivationFn(),
            loss.labelsMask(), true);
        final INDArray dz = output.getLossFn().computeGradient(loss.labels(), z.dup(), output.getActivationFn(),
            loss.labelsMask());

        INDArray dh = layers.get(last).backwardFromPreActivation(dz, last > 0);
        layers.get(last).update(batchSize, iteration, epoch);
        for (int l = last - 1; l >= 0; l--)
        {
            dh = layers.get(l).backward(dh, l > 0);
            layers.get(l).update(batchSize, iteration, epoch);
        }
        iteration++;
        return score;
    }

    /** Marks the end of an epoch, as DL4J's {@code incrementEpochCount()}: schedules by epoch see the new count. */
    public void incrementEpoch()
    {
        epoch++;
    }

    public int iteration()
    {
        return iteration;
    }

    /** An ordinary DL4J network with the gathered parameters, updater state, iteration and epoch counts. */
    public MultiLayerNetwork toNetwork()
    {
        final MultiLayerNetwork network = new MultiLayerNetwork(conf.clone());
        network.init();
        network.getUpdater(true);
        NetworkTransfer.gather(layers, network);
        network.setIterationCount(iteration);
        network.setEpochCount(epoch);
        return network;
    }

    /** The split layers in network order (for tests and the distributed trainer). */
    public List<SplitDenseLayer> layers()
    {
        return layers;
    }
}
