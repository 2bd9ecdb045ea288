package io.paratrain.modelsplit;

import io.paratrain.gradientsharing.Collective;
import io.paratrain.gradientsharing.exceptions.CollectiveException;
import io.paratrain.modelsplit.exceptions.ShardFailedException;
import io.paratrain.modelsplit.exceptions.SplitConfigException;
import io.paratrain.modelsplit.exceptions.UnsupportedModelException;
import io.paratrain.modelsplit.internal.MinibatchCheck;
import io.paratrain.modelsplit.ModelSupport;
import io.paratrain.modelsplit.internal.RankLayer;
import io.paratrain.modelsplit.internal.RankModel;
import io.paratrain.modelsplit.internal.ShardGather;
import io.paratrain.modelsplit.internal.SliceScatter;
import io.paratrain.modelsplit.internal.StepHeader;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/**
 * One rank of distributed model-split training over a {@link Collective} of N ranks. Rank 0 is the coordinator:
 * it holds the minibatches, the layers that are not split, the loss, and shard 0 of every split layer; rank r
 * in 1..N-1 holds shard r of every split layer (by columns, or by rows for the second layer of a Megatron pair,
 * see {@link SplitConfig#paired}). Rank 0 drives: {@link #fit} per minibatch, then {@link #finish} (gather) or
 * {@link #stop}; the other ranks call {@link #serve} (or {@link #serveOne} per command), which follows rank 0.
 * <p>
 * Checkpoints: {@link #snapshot} on rank 0 between steps returns what {@link #finish} would return there and
 * training goes on; it costs one gather of every slice (values and updater state). Resume by starting a new ring
 * of the same split with that network on rank 0: the run then ends bit for bit where an uninterrupted one would.
 * <p>
 * Start: every rank allocates only its slices. Either rank 0's network is the starting point and each shard receives
 * its slices from it (the constructor on rank 0, {@link #shard} or the constructor elsewhere), or every rank
 * initialises its own slices ({@link #fresh}) and no rank ever holds the whole network.
 * <p>
 * Each step starts with a 16-byte header broadcast from rank 0 {STEP, batch size, iteration, epoch}; then per
 * layer the exchange of {@link RankLayer}. The result equals {@link InProcessSplitTrainer} and so DL4J's
 * {@code MultiLayerNetwork.fit}, up to the order of float additions in the sum of partial input gradients.
 * Not thread-safe; the caller owns (and closes) the collective.
 */
public final class SplitRank
{
    private final Collective ring;
    private final int rank;
    private final MultiLayerConfiguration conf;
    private final OutputLayer output;
    private final long nOut;
    private final RankModel model;
    private final StepHeader header = new StepHeader();
    private int iteration;
    private int epoch;
    private boolean finished;

    /**
     * Every rank calls this at the same time with a network of the same configuration (checked). Rank 0's
     * parameters, updater state, iteration and epoch are the starting point; each other rank receives only its own
     * slices and uses its network for the configuration alone (see {@link #shard} to pass none).
     */
    public SplitRank(final Collective ring, final MultiLayerNetwork network, final SplitConfig split)
    {
        this(ring, network.getLayerWiseConfigurations(), ring.rank() == 0 ? network : null, split, false);
    }

    /**
     * Ranks 1..N-1, while rank 0 calls {@link #SplitRank(Collective, MultiLayerNetwork, SplitConfig)}: this rank
     * allocates and receives only its slices (parameters and updater state), never the whole network.
     */
    public static SplitRank shard(final Collective ring, final MultiLayerConfiguration conf, final SplitConfig split)
    {
        if (ring.rank() == 0)
        {
            throw new IllegalStateException("SplitRank.shard on rank 0: the coordinator passes the initial network");
        }
        return new SplitRank(ring, conf, null, split, false);
    }

    /**
     * Every rank: no rank ever holds the whole network. Each builds only its slices and draws their initial values
     * from the layers' own weight initialisation (full fan-in and fan-out, a random stream per layer and rank), so
     * the start is a valid initialisation but not the one {@code MultiLayerNetwork.init()} draws for the seed.
     * For models larger than one JVM's memory; end with {@link #stop} (or {@link #finish} if the result fits).
     */
    public static SplitRank fresh(final Collective ring, final MultiLayerConfiguration conf, final SplitConfig split)
    {
        return new SplitRank(ring, conf, null, split, true);
    }

    private SplitRank(final Collective ring, final MultiLayerConfiguration conf, final MultiLayerNetwork network,
                      final SplitConfig split, final boolean fresh)
    {
        this.ring = ring;
        this.rank = ring.rank();
        this.conf = conf;
        if (split.shards() != ring.worldSize())
        {
            throw new SplitConfigException("rank " + rank + ": shards must equal the ring's world size "
                + ring.worldSize() + ", found " + split.shards());
        }
        ModelSupport.check(conf, split.splitLayers());
        if (conf.getDataType() != DataType.FLOAT || (network != null && network.params().dataType() != DataType.FLOAT))
        {
            throw new UnsupportedModelException("rank " + rank + ": the network's data type is "
                + conf.getDataType() + ": distributed model split moves FLOAT only");
        }
        this.output = (OutputLayer)conf.getConf(conf.getConfs().size() - 1).getLayer();
        this.nOut = output.getNOut();
        agreeOnConfiguration(split, fresh);
        this.model = RankModel.allocate(conf, split, rank);
        if (fresh)
        {
            model.initialise(conf, rank);
            header.set(0, 0, 0, 0);
        }
        else
        {
            if (network != null)
            {
                network.getUpdater(true);
            }
            SliceScatter.scatter(ring, model, network);
            header.set(0, 0, network == null ? 0 : network.getIterationCount(),
                network == null ? 0 : network.getEpochCount());
        }
        collective("start: clock broadcast", () -> ring.broadcast(header.buffer(), 0));
        this.iteration = header.iteration();
        this.epoch = header.epoch();
    }

    /** Rank 0's configuration, split and start mode reach every rank; each compares, and all learn who differs. */
    private void agreeOnConfiguration(final SplitConfig split, final boolean fresh)
    {
        final byte[] mine = (canonicalJson(conf) + "\n" + split + "\nfresh=" + fresh).getBytes(StandardCharsets.UTF_8);
        final byte[] root = collective("configuration check", () -> ring.broadcastBytes(mine, 0));
        final byte[][] verdicts = collective("configuration check",
            () -> ring.allGather(new byte[] {(byte)(Arrays.equals(root, mine) ? 1 : 0)}));
        for (int r = 0; r < verdicts.length; r++)
        {
            if (verdicts[r][0] != 1)
            {
                throw new SplitConfigException("rank " + r + "'s network configuration, split or start mode differs "
                    + "from rank 0's: every rank must build the same MultiLayerConfiguration and SplitConfig, and "
                    + "all start fresh or all from rank 0's network");
            }
        }
    }

    /**
     * The configuration's JSON without the parameter names that {@code MultiLayerNetwork.init()} adds to it and
     * without DL4J's iteration and epoch counts: those are the training clock, which rank 0 sends every rank in the
     * step header, and a rank 0 that resumes from a checkpoint has counts that the shards' configuration lacks.
     */
    private static String canonicalJson(final MultiLayerConfiguration conf)
    {
        final MultiLayerConfiguration copy = conf.clone();
        copy.getConfs().forEach(NeuralNetConfiguration::clearVariables);
        copy.setIterationCount(0);
        copy.setEpochCount(0);
        return copy.toJson();
    }

    /**
     * Rank 0: one training step on {@code minibatch}, as {@code MultiLayerNetwork.fit(DataSet)} does it.
     *
     * @return the minibatch's mean loss (without regularization terms).
     */
    public double fit(final DataSet minibatch)
    {
        requireRank0("fit");
        final MinibatchCheck.LossInputs loss = MinibatchCheck.lossInputs(minibatch, nOut, DataType.FLOAT);
        final int batch = (int)minibatch.getFeatures().rows();
        header.set(StepHeader.STEP, batch, iteration, epoch);
        collective("step " + iteration + " header", () -> ring.broadcast(header.buffer(), 0));
        final double score = step(minibatch.getFeatures().castTo(DataType.FLOAT), loss);
        iteration++;
        return score;
    }

    /** Ranks 1..N-1: follow rank 0 until it finishes. */
    public void serve()
    {
        while (serveOne())
        {
            // each call runs one command
        }
    }

    /**
     * Ranks 1..N-1: run one command of rank 0 (a step, or sending the slices for a snapshot); false once rank 0 has
     * finished (the slices are then sent) or stopped.
     */
    public boolean serveOne()
    {
        if (rank == 0)
        {
            throw new IllegalStateException("serveOne on rank 0: the coordinator drives with fit and finish");
        }
        requireNotFinished("serveOne");
        collective("waiting for rank 0's next command", () -> ring.broadcast(header.buffer(), 0));
        iteration = header.iteration();
        epoch = header.epoch();
        switch (header.command())
        {
            case StepHeader.STEP ->
            {
                step(null, null);
                iteration++;
                return true;
            }
            case StepHeader.SNAPSHOT ->
            {
                ShardGather.gather(ring, model, null, iteration, epoch);
                return true;
            }
            case StepHeader.FINISH ->
            {
                finished = true;
                ShardGather.gather(ring, model, null, iteration, epoch);
                return false;
            }
            case StepHeader.STOP ->
            {
                finished = true;
                return false;
            }
            default -> throw new ShardFailedException("rank " + rank + ": rank 0 sent an unknown command "
                + header.command() + " (expected " + StepHeader.STEP + ", " + StepHeader.SNAPSHOT + ", "
                + StepHeader.FINISH + " or " + StepHeader.STOP + ")", null);
        }
    }

    /** Rank 0: tells the shards to stop and gathers every slice into an ordinary DL4J network. */
    public MultiLayerNetwork finish()
    {
        requireRank0("finish");
        requireNotFinished("finish");
        finished = true;
        header.set(StepHeader.FINISH, 0, iteration, epoch);
        collective("finish header", () -> ring.broadcast(header.buffer(), 0));
        return ShardGather.gather(ring, model, conf, iteration, epoch);
    }

    /**
     * Rank 0, between steps: the whole model as an ordinary DL4J network with its updater state, iteration and epoch
     * counts, exactly what {@link #finish} would return now; the shards keep serving and training goes on unchanged.
     * A checkpoint: {@code new SplitRank(newRing, snapshot, split)} resumes from it. Costs one gather of every slice
     * (values and updater state) and one network of the whole model on rank 0.
     */
    public MultiLayerNetwork snapshot()
    {
        requireRank0("snapshot");
        header.set(StepHeader.SNAPSHOT, 0, iteration, epoch);
        collective("snapshot header", () -> ring.broadcast(header.buffer(), 0));
        return ShardGather.gather(ring, model, conf, iteration, epoch);
    }

    /**
     * Rank 0: tells the shards to stop without gathering (for a model no single JVM can hold); the trained slices
     * stay where they are and are released with this object.
     */
    public void stop()
    {
        requireRank0("stop");
        finished = true;
        header.set(StepHeader.STOP, 0, iteration, epoch);
        collective("stop header", () -> ring.broadcast(header.buffer(), 0));
    }

    /** Floats of parameters and updater state this rank holds (its slices; on rank 0 also the whole layers). */
    public long heldFloats()
    {
        return model.heldFloats();
    }

    /** Rank 0: marks the end of an epoch (schedules by epoch see it; the shards learn it with the next step). */
    public void incrementEpoch()
    {
        requireRank0("incrementEpoch");
        epoch++;
    }

    public int iteration()
    {
        return iteration;
    }

    public int rank()
    {
        return rank;
    }

    /**
     * forward: H_0 = X, H_l = layer l (H_{l-1}); Z = last layer (H_{L-1}); rank 0: dZ = loss'(labels, Z).
     * backward: dH_{l-1} = layer l backward (dH_l), each layer updated right after (its dX used the old W).
     */
    private double step(final INDArray features, final MinibatchCheck.LossInputs loss)
    {
        final int batch = header.batchSize();
        final String where = "rank " + rank + " step " + header.iteration();
        final List<RankLayer> layers = model.layers();
        final int last = layers.size() - 1;
        INDArray h = features;
        for (int l = 0; l <= last; l++)
        {
            h = layers.get(l).forward(ring, h, batch, where);
        }
        double score = Double.NaN;
        INDArray gradient = null;
        if (rank == 0)
        {
            score = output.getLossFn().computeScore(loss.labels(), h.dup(), output.getActivationFn(),
                loss.labelsMask(), true);
            gradient = output.getLossFn().computeGradient(loss.labels(), h.dup(), output.getActivationFn(),
                loss.labelsMask());
        }
        for (int l = last; l >= 0; l--)
        {
            gradient = layers.get(l).backward(ring, gradient, batch, l > 0, where);
            layers.get(l).update(batch, header.iteration(), header.epoch());
        }
        return score;
    }

    private void requireRank0(final String what)
    {
        if (rank != 0)
        {
            throw new IllegalStateException(what + " on rank " + rank + ": only rank 0, the coordinator, calls it");
        }
        requireNotFinished(what);
    }

    private void requireNotFinished(final String what)
    {
        if (finished)
        {
            throw new IllegalStateException(what + " on rank " + rank + ": training has finished");
        }
    }

    private <T> T collective(final String phase, final java.util.function.Supplier<T> operation)
    {
        try
        {
            return operation.get();
        }
        catch (final CollectiveException ex)
        {
            throw new ShardFailedException("rank " + rank + ": " + phase + " failed: " + ex.getMessage(), ex);
        }
    }

    private void collective(final String phase, final Runnable operation)
    {
        collective(phase, () ->
        {
            operation.run();
            return null;
        });
    }
}
