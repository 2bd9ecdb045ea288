package io.paratrain.sparktrainer.internal.fit;

import io.paratrain.sparktrainer.StepMetrics;
import io.paratrain.sparktrainer.TrainingListener;
import io.paratrain.sparktrainer.TrainingSummary;
import io.paratrain.sparktrainer.exceptions.TrainerConfigException;
import io.paratrain.sparktrainer.exceptions.TrainerException;
import io.paratrain.sparktrainer.exceptions.TrainingInputException;
import io.paratrain.sparktrainer.internal.channel.ChannelCounters;
import io.paratrain.sparktrainer.internal.channel.ChannelKey;
import io.paratrain.sparktrainer.internal.checkpoint.CheckpointSeries;
import io.paratrain.sparktrainer.internal.data.BatchShapes;
import io.paratrain.sparktrainer.internal.data.CountedSnapshot;
import io.paratrain.sparktrainer.internal.data.DirectInput;
import io.paratrain.sparktrainer.internal.data.ExamplePlan;
import io.paratrain.sparktrainer.internal.data.ExampleLayout;
import io.paratrain.sparktrainer.internal.data.ExampleRouting;
import io.paratrain.sparktrainer.internal.data.PartitionShape;
import io.paratrain.sparktrainer.internal.driver.ModelReceiver;
import io.paratrain.sparktrainer.internal.driver.ModelSender;
import io.paratrain.sparktrainer.internal.driver.ProgressServer;
import io.paratrain.sparktrainer.internal.driver.SameJvmHandoff;
import io.paratrain.sparktrainer.internal.snapshot.ModelSnapshot;
import io.paratrain.sparktrainer.internal.snapshot.NetworkModel;
import io.paratrain.sparktrainer.internal.snapshot.SnapshotBroadcast;
import io.paratrain.sparktrainer.internal.stage.BarrierRing;
import io.paratrain.sparktrainer.internal.stage.BarrierSlots;
import io.paratrain.sparktrainer.internal.stage.BarrierStage;
import io.paratrain.sparktrainer.internal.stage.BarrierTimers;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.util.LongAccumulator;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The driver's side of every fit, whatever the {@link Layout}: waits for slots, counts the examples while the model
 * is snapshotted, plans the steps, starts a new checkpoint series or checks the one it resumes, opens the fit's
 * session (id, channel key, counters, progress server, model socket or same-JVM handoff), runs one barrier stage
 * of {@link BarrierScope} (retryable when checkpoints are on), turns its failure into the layout's typed error with
 * the tasks' own errors first, and applies the returned model to the caller's network.
 */
public final class BarrierFit
{
    /** The records a caller passes: {@link #fit}'s {@code record}. */
    public static final String DATA_SET = "DataSet";
    public static final String MULTI_DATA_SET = "MultiDataSet";
    private static final Logger LOG = LoggerFactory.getLogger(BarrierFit.class);

    private final JavaSparkContext sc;
    private final Layout layout;
    private final FitSettings settings;
    private final List<TrainingListener> listeners = new CopyOnWriteArrayList<>();
    /** The fits that {@link #awaitSlots} covers and that have not started yet: they do not wait again. */
    private final AtomicInteger fitsAwaited = new AtomicInteger();

    public BarrierFit(final JavaSparkContext sc, final Layout layout, final FitSettings settings)
    {
        this.sc = sc;
        this.layout = layout;
        this.settings = settings;
    }

    /**
     * Waits now, as a fit does first, up to the settings' slotWaitMs for the cluster to offer a task slot per rank,
     * so that a caller can fail before it prepares its data; the next {@code fits} fits then do not check again (the
     * caller has just waited and runs them one after another; should executors leave meanwhile, Spark's own barrier
     * check fails the stage).
     *
     * @param what what needs the slots, for the message when there are too few.
     * @param fits the fits the wait stands for (1: the next).
     */
    public void awaitSlots(final String what, final int fits)
    {
        if (fits < 1)
        {
            throw new TrainerConfigException("invalid awaitSlots fits=" + fits + ": expected >= 1 (the fits that " +
                "the wait stands for)");
        }
        BarrierSlots.await(sc, layout.worldSize(), settings.slotWaitMs(), what);
        fitsAwaited.set(fits);
    }

    /** Called on the driver with every step's and epoch's metrics of the fits that follow. */
    public void addListener(final TrainingListener listener)
    {
        listeners.add(listener);
    }

    /**
     * Trains {@code network} in place on {@code data} (MultiDataSets of any minibatch size, in RDD order).
     *
     * @param record what the caller passed, "DataSet" or "MultiDataSet" (each converted to a MultiDataSet here):
     *               errors about a record's shape name it by that word.
     */
    public TrainingSummary fit(final NetworkModel network, final JavaRDD<MultiDataSet> data, final String record)
    {
        return fit(network, data, record, BatchShapes.of(data));
    }

    /**
     * As {@link #fit(NetworkModel, JavaRDD, String)}, counting the examples from {@code batchShapes}: the
     * {@link BatchShapes} of {@code data}'s MultiDataSets, partition for partition, which may be known without
     * loading them.
     */
    public TrainingSummary fit(final NetworkModel network, final JavaRDD<MultiDataSet> data, final String record,
        final JavaRDD<long[]> batchShapes)
    {
        BarrierTimers.releaseWhenStopped(sc.sc());
        final long sessionId = new SecureRandom().nextLong() | 1L;
        // local mode: the media driver starts while the examples are counted
        final AutoCloseable prelaunch = sc.isLocal() ? BarrierRing.prelaunchLocal(sessionId,
            settings.collectiveTimeoutMs()) : null;
        try
        {
            return fit(network, data, record, batchShapes, sessionId);
        }
        finally
        {
            if (prelaunch != null)
            {
                closeQuietly(prelaunch);
            }
        }
    }

    private TrainingSummary fit(final NetworkModel network, final JavaRDD<MultiDataSet> data, final String record,
        final JavaRDD<long[]> batchShapes, final long sessionId)
    {
        final long planStartNs = System.nanoTime();
        // before the counting job: local mode fails at once, a cluster's executors join meanwhile
        if (fitsAwaited.getAndUpdate(fits -> Math.max(0, fits - 1)) == 0)
        {
            BarrierSlots.await(sc, layout.worldSize(), settings.slotWaitMs(), "the " + layout.name());
        }
        final CountedSnapshot start = CountedSnapshot.take(network, batchShapes);
        final List<PartitionShape> partitions = start.partitions();
        final long[] partitionCounts = start.counts();
        final long total = Arrays.stream(partitionCounts).sum();
        if (total == 0)
        {
            throw new TrainingInputException("the training data is empty: nothing to train on");
        }
        final ExamplePlan plan = layout.plan(total);
        PartitionShape.checkCombinable(partitions, record);
        checkArity(network, partitions, record);
        final long[] direct = layout.refusesDirectExchange().isPresent() ? null :
            DirectInput.layout(data, partitions, total, layout.worldSize());
        LOG.info("{}: {} examples per epoch (all used), {} steps of {}, {} epochs (counted in {} ms); {}",
            capitalized(layout.name()), total, plan.stepsPerEpoch(), plan.globalBatchSize(), settings.epochs(),
            (System.nanoTime() - planStartNs) / 1_000_000, direct != null ?
            "examples exchanged over the ring from the data's own partitions" :
            "examples routed through a Spark shuffle");
        CheckpointSeries.prepare(settings.checkpoint(), plan, network.kind(), sc.hadoopConfiguration());

        final ModelSnapshot initial = start.snapshot();
        final ChannelKey channelKey = ChannelKey.forFit(sc.getConf(), sc.sc().applicationId(),
            capitalized(layout.name()));
        final ChannelCounters channelCounters = ChannelCounters.register(sc.sc());
        final String description = String.format("Paratrain %s: %d ranks, %d steps of %d, %d epochs, %d examples",
            layout.name(), layout.worldSize(), plan.stepsPerEpoch(), plan.globalBatchSize(), settings.epochs(), total);
        final long startNs = System.nanoTime();
        final LastLoss lastLoss = new LastLoss();
        final List<TrainingListener> all = new ArrayList<>(listeners);
        all.add(lastLoss);
        final ModelSnapshot trained;
        // In local mode the tasks run in this JVM: the models are handed to them by reference, not broadcast and
        // sent back over a socket.
        final SameJvmHandoff handoff = sc.isLocal() ? SameJvmHandoff.open(sessionId, initial) : null;
        final SnapshotBroadcast broadcast = handoff == null ? SnapshotBroadcast.of(sc, initial) : null;
        final String token = progressToken();
        try (ProgressServer progress = new ProgressServer(driverHost(), token, all);
            ModelReceiver modelReceiver = handoff != null ? null : new ModelReceiver(driverHost(), sessionId,
                settings.collectiveTimeoutMs()))
        {
            // The stage's accumulator table in the Spark UI shows the epochs done (refreshed with executor
            // heartbeats).
            final LongAccumulator epochsDone = sc.sc().longAccumulator("paratrain epochs done (of " +
                settings.epochs() + ")");
            final BarrierScope scope = new BarrierScope(layout, settings, plan, broadcast, initial.configuration(),
                sessionId, channelKey, channelCounters, progress.address(), token,
                modelReceiver == null ? null : modelReceiver.address(), epochsDone);
            final BarrierStage stage = new BarrierStage(sc, "paratrain-" + Long.toHexString(sessionId), description,
                settings.checkpoint() != null, layout.worldSize());
            final List<byte[]> results;
            try
            {
                results = direct != null
                    ? stage.run(data.rdd(), partition -> encoded(scope.trainOwnPartition(partition, partitionCounts,
                        direct)))
                    : stage.run(ExampleRouting.route(data, partitionCounts, plan, layout.worldSize()).rdd(),
                        partition -> encoded(scope.train(partition)));
            }
            catch (final BarrierStage.Failed failed)
            {
                throw failed.rethrow(layout::stageFailed);
            }
            if (results.size() != 1)
            {
                throw new TrainerException("expected the model from rank 0, got " + results.size() + " models");
            }
            trained = ModelSender.Delivery.decode(results.get(0)).resolve(handoff != null ? handoff : modelReceiver);
        }
        catch (final IOException ex)
        {
            throw new TrainerException("cannot open the progress or model socket on the driver", ex);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new TrainerException("interrupted while closing the progress and model sockets", ex);
        }
        finally
        {
            if (broadcast != null)
            {
                broadcast.destroy();
            }
            if (handoff != null)
            {
                handoff.close();
            }
        }
        trained.applyTo(network);
        final double seconds = (System.nanoTime() - startNs) / 1e9;
        return new TrainingSummary(total, plan.stepsPerEpoch(), settings.epochs(), seconds,
            total * settings.epochs() / seconds, lastLoss.value,
            channelCounters.report(channelKey.authenticated(), capitalized(layout.name())));
    }

    /** The examples must have as many inputs and outputs as the model. */
    private static void checkArity(final NetworkModel network, final List<PartitionShape> partitions,
        final String record)
    {
        for (final PartitionShape shape : partitions)
        {
            if (shape.examples() > 0)
            {
                final int inputs = ExampleLayout.inputs(shape.layout());
                final int outputs = ExampleLayout.outputs(shape.layout());
                if (inputs != network.inputs() || outputs != network.outputs())
                {
                    throw new TrainingInputException("the " + network.network().getClass().getSimpleName() +
                        " has " + network.inputs() + " input(s) and " + network.outputs() + " output(s), the " +
                        "examples " + inputs + " and " + outputs + (network.inputs() + network.outputs() > 2 &&
                        DATA_SET.equals(record) ? " (a DataSet has one of each: train a graph with several on " +
                        "MultiDataSets)" : ""));
                }
                return; // checkCombinable saw that every partition has as many
            }
        }
    }

    private static java.util.Iterator<byte[]> encoded(final java.util.Iterator<ModelSender.Delivery> deliveries)
    {
        return java.util.stream.StreamSupport.stream(java.util.Spliterators.spliteratorUnknownSize(deliveries, 0),
            false).map(ModelSender.Delivery::encode).iterator();
    }

    /**
     * Admits the fit's progress lines. Not the session id: that one names the media driver's folder in /dev/shm,
     * where any local user can read it.
     */
    private static String progressToken()
    {
        final byte[] tokenBytes = new byte[16];
        new SecureRandom().nextBytes(tokenBytes);
        return HexFormat.of().formatHex(tokenBytes);
    }

    private static String capitalized(final String name)
    {
        return Character.toUpperCase(name.charAt(0)) + name.substring(1);
    }

    private String driverHost()
    {
        return sc.getConf().get("spark.driver.host", "127.0.0.1");
    }

    private static void closeQuietly(final AutoCloseable prelaunch)
    {
        try
        {
            prelaunch.close();
        }
        catch (final Exception ex)
        {
            LOG.debug("Giving up the prelaunched media driver: {}", ex.toString());
        }
    }

    private static final class LastLoss implements TrainingListener
    {
        private volatile double value = Double.NaN;

        @Override
        public void onStep(final StepMetrics metrics)
        {
            value = metrics.loss();
        }
    }
}
