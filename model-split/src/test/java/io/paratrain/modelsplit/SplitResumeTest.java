package io.paratrain.modelsplit;

import io.paratrain.gradientsharing.NoMediaDriverLeft;
import io.paratrain.gradientsharing.TestRing;
import io.paratrain.gradientsharing.Transport;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.nd4j.linalg.schedule.ExponentialSchedule;
import org.nd4j.linalg.schedule.ScheduleType;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Checkpoints of distributed model split (ranks as threads, real Aeron ring), compared bit for bit with split runs
 * that were never interrupted: {@link SplitRank#snapshot} leaves training untouched and returns what
 * {@link SplitRank#finish} would return at that step; a new ring started from a snapshot (as is, through
 * {@code ModelSerializer}, or rebuilt from float arrays and the configuration JSON) ends where the uninterrupted
 * fit ends. 12-16-10-4 MLP with Adam whose learning rate halves every epoch, so the updater state, the iteration
 * (Adam's bias correction) and the epoch (the schedule) all change the result; an epoch is 8 steps of 25.
 */
@Timeout(180)
@ExtendWith(NoMediaDriverLeft.class)
class SplitResumeTest
{
    private static final int STEPS = 25;
    private static final int STEPS_PER_EPOCH = 8;
    private static final int SNAPSHOT_EVERY = 4;

    @TempDir
    Path driverBase;

    static Stream<Arguments> splits()
    {
        final List<Arguments> cases = new ArrayList<>();
        for (final int shards : new int[] {2, 3})
        {
            cases.add(Arguments.of(shards, SplitConfig.of(shards, 0, 1, 2)));
            cases.add(Arguments.of(shards, SplitConfig.of(shards, 0, 1, 2).withPairing()));
        }
        return cases.stream();
    }

    static Stream<Arguments> resumes()
    {
        final List<Arguments> cases = new ArrayList<>();
        for (final int shards : new int[] {2, 3})
        {
            for (final SplitConfig split : List.of(SplitConfig.of(shards, 0, 1, 2),
                SplitConfig.of(shards, 0, 1, 2).withPairing()))
            {
                // cut 6: mid-epoch, the rest crosses three epoch boundaries; cut 8: right after incrementEpoch.
                for (final int cut : new int[] {6, 8})
                {
                    cases.add(Arguments.of(shards, split, cut));
                }
            }
        }
        return cases.stream();
    }

    /**
     * Rank 0 draws each minibatch from ND4J's random stream right before its step, so a snapshot that moved that
     * stream (or anything else rank 0 trains with) would change what follows.
     */
    @ParameterizedTest(name = "N={0} split={1}")
    @MethodSource("splits")
    void snapshotsEveryFewStepsLeaveTrainingBitIdentical(final int shards, final SplitConfig split) throws Exception
    {
        final MultiLayerConfiguration conf = configuration();
        final MultiLayerNetwork initial = network(conf);
        final Run plain = trainDrawingData(conf, initial, split, 0);
        final Run snapshotted = trainDrawingData(conf, initial, split, SNAPSHOT_EVERY);

        assertEquals(STEPS, plain.commandsServed, "commands a shard served without snapshots");
        assertEquals(STEPS + STEPS / SNAPSHOT_EVERY, snapshotted.commandsServed,
            "commands a shard served: each snapshot is one, and serveOne returned true after it");
        assertSameTraining("with snapshots every " + SNAPSHOT_EVERY + " steps vs without", plain.trained,
            snapshotted.trained);
        assertEquals(STEPS / SNAPSHOT_EVERY, snapshotted.snapshots.size());
        for (int s = 0; s < snapshotted.snapshots.size(); s++)
        {
            final int step = (s + 1) * SNAPSHOT_EVERY;
            assertEquals(step, snapshotted.snapshots.get(s).getIterationCount(), "snapshot " + s + " iteration");
            assertEquals(step / STEPS_PER_EPOCH, snapshotted.snapshots.get(s).getEpochCount(), "snapshot " + s + " epoch");
        }
    }

    /** A snapshot taken at step k (training then went on) holds exactly what finish() returns after k steps. */
    @ParameterizedTest(name = "N={0} split={1}")
    @MethodSource("splits")
    void aSnapshotIsWhatFinishReturnsAtThatStep(final int shards, final SplitConfig split) throws Exception
    {
        final MultiLayerConfiguration conf = configuration();
        final MultiLayerNetwork initial = network(conf);
        final List<DataSet> minibatches = SplitEquivalenceTest.minibatches("softmax-mcxent");
        final int step = 2 * SNAPSHOT_EVERY;
        final MultiLayerNetwork snapshot;
        final MultiLayerNetwork finishedThere;
        try (TestRing ring = ring(shards))
        {
            final List<SplitRank> ranks = start(ring, conf, initial, split);
            run(ring, ranks, minibatches, 0, step);
            snapshot = snapshot(ring, ranks);
            run(ring, ranks, minibatches, step, STEPS);
            finish(ring, ranks);
        }
        try (TestRing ring = ring(shards))
        {
            final List<SplitRank> ranks = start(ring, conf, initial, split);
            run(ring, ranks, minibatches, 0, step);
            finishedThere = finish(ring, ranks);
        }
        assertEquals(step, snapshot.getIterationCount());
        assertEquals(1, snapshot.getEpochCount());
        assertSameTraining("snapshot at step " + step + " vs finish at step " + step, finishedThere, snapshot);
    }

    /**
     * Fit {@code cut} steps, snapshot, stop and close the ring; per {@link SnapshotCopy}, a new ring whose rank 0
     * starts from the copied snapshot and whose shards start from the original configuration (iteration and epoch
     * counts 0) fits the rest and finishes: raw-bit equal to one ring fitting all steps.
     */
    @ParameterizedTest(name = "N={0} split={1} cut={2}")
    @MethodSource("resumes")
    void aNewRingStartedFromASnapshotEndsExactlyWhereAnUninterruptedFitEnds(final int shards, final SplitConfig split,
                                                                         final int cut)
        throws Exception
    {
        final MultiLayerConfiguration conf = configuration();
        final MultiLayerNetwork initial = network(conf);
        final List<DataSet> minibatches = SplitEquivalenceTest.minibatches("softmax-mcxent");
        final MultiLayerNetwork uninterrupted;
        try (TestRing ring = ring(shards))
        {
            final List<SplitRank> ranks = start(ring, conf, initial, split);
            run(ring, ranks, minibatches, 0, STEPS);
            uninterrupted = finish(ring, ranks);
        }
        final MultiLayerNetwork snapshot;
        try (TestRing ring = ring(shards))
        {
            final List<SplitRank> ranks = start(ring, conf, initial, split);
            run(ring, ranks, minibatches, 0, cut);
            snapshot = snapshot(ring, ranks);
            stop(ring, ranks);
        }
        assertEquals(cut, snapshot.getIterationCount());
        assertEquals(cut / STEPS_PER_EPOCH, snapshot.getEpochCount());
        assertEquals(STEPS, uninterrupted.getIterationCount());
        assertEquals(STEPS / STEPS_PER_EPOCH, uninterrupted.getEpochCount());
        for (final SnapshotCopy copy : SnapshotCopy.values())
        {
            final MultiLayerNetwork restored = copy.of(snapshot);
            final MultiLayerNetwork resumed;
            try (TestRing ring = ring(shards))
            {
                final List<SplitRank> ranks = start(ring, conf, restored, split);
                run(ring, ranks, minibatches, cut, STEPS);
                resumed = finish(ring, ranks);
            }
            assertSameTraining("resumed at step " + cut + " (" + copy + ") vs uninterrupted", uninterrupted, resumed);
        }
        assertNotEquals(0, Float.floatToRawIntBits(uninterrupted.getUpdater().getStateViewArray().getFloat(0)),
            "Adam's state is not zero");
    }

    /** 12-16-10-4 MLP, Adam with a learning rate 0.01 x 0.5^epoch. */
    static MultiLayerConfiguration configuration()
    {
        return new NeuralNetConfiguration.Builder().seed(12345).dataType(DataType.FLOAT).weightInit(WeightInit.XAVIER)
            .biasInit(0.1).updater(new Adam(new ExponentialSchedule(ScheduleType.EPOCH, 0.01, 0.5)))
            .list()
            .layer(new DenseLayer.Builder().nIn(12).nOut(16).activation(Activation.RELU).build())
            .layer(new DenseLayer.Builder().nIn(16).nOut(10).activation(Activation.TANH).build())
            .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(10).nOut(4)
                .activation(Activation.SOFTMAX).build())
            .build();
    }

    private static MultiLayerNetwork network(final MultiLayerConfiguration conf)
    {
        final MultiLayerNetwork network = new MultiLayerNetwork(conf.clone());
        network.init();
        return network;
    }

    private TestRing ring(final int shards) throws Exception
    {
        return TestRing.connect(TestRing.config(driverBase, Transport.AUTO).timeoutMs(10_000).build(), shards);
    }

    /** Rank 0 starts from {@code start} (which it only reads); the shards from the configuration alone. */
    private static List<SplitRank> start(final TestRing ring, final MultiLayerConfiguration conf,
                                         final MultiLayerNetwork start, final SplitConfig split) throws Exception
    {
        return ring.onEveryRank(rank -> rank == 0 ? new SplitRank(ring.ranks.get(0), start, split)
            : SplitRank.shard(ring.ranks.get(rank), conf, split));
    }

    /** Steps [from, to) of {@code minibatches}; rank 0 increments the epoch after every STEPS_PER_EPOCH-th step. */
    private static void run(final TestRing ring, final List<SplitRank> ranks, final List<DataSet> minibatches,
                            final int from, final int to) throws Exception
    {
        ring.onEveryRank(rank ->
        {
            for (int step = from; step < to; step++)
            {
                if (rank == 0)
                {
                    ranks.get(0).fit(minibatches.get(step));
                    endEpochAfter(ranks.get(0), step);
                }
                else if (!ranks.get(rank).serveOne())
                {
                    fail("rank " + rank + " expected step " + step + ", rank 0 finished");
                }
            }
            return null;
        });
    }

    private static void endEpochAfter(final SplitRank coordinator, final int step)
    {
        if ((step + 1) % STEPS_PER_EPOCH == 0)
        {
            coordinator.incrementEpoch();
        }
    }

    private static MultiLayerNetwork snapshot(final TestRing ring, final List<SplitRank> ranks) throws Exception
    {
        final List<MultiLayerNetwork> results = ring.onEveryRank(rank ->
        {
            if (rank == 0)
            {
                return ranks.get(0).snapshot();
            }
            if (!ranks.get(rank).serveOne())
            {
                fail("rank " + rank + ": serveOne returned false after a snapshot");
            }
            return null;
        });
        assertNull(results.get(results.size() - 1));
        return results.get(0);
    }

    private static MultiLayerNetwork finish(final TestRing ring, final List<SplitRank> ranks) throws Exception
    {
        return ring.onEveryRank(rank ->
        {
            if (rank == 0)
            {
                return ranks.get(0).finish();
            }
            assertFalse(ranks.get(rank).serveOne(), "rank " + rank + " expected the finish command");
            return null;
        }).get(0);
    }

    private static void stop(final TestRing ring, final List<SplitRank> ranks) throws Exception
    {
        ring.onEveryRank(rank ->
        {
            if (rank == 0)
            {
                ranks.get(0).stop();
            }
            else
            {
                assertFalse(ranks.get(rank).serveOne(), "rank " + rank + " expected the stop command");
            }
            return null;
        });
    }

    /** The finished network, the snapshots taken, and how many commands shard 1 served. */
    private record Run(MultiLayerNetwork trained, List<MultiLayerNetwork> snapshots, int commandsServed)
    {
    }

    /**
     * One ring: rank 0 seeds ND4J's random stream (of its thread), then per step draws a minibatch from it and fits;
     * with {@code snapshotEvery} > 0 it takes a snapshot after every such number of steps. The shards serve until
     * rank 0 finishes.
     */
    private Run trainDrawingData(final MultiLayerConfiguration conf, final MultiLayerNetwork initial,
                                 final SplitConfig split, final int snapshotEvery) throws Exception
    {
        try (TestRing ring = ring(split.shards()))
        {
            final List<SplitRank> ranks = start(ring, conf, initial, split);
            final List<MultiLayerNetwork> snapshots = new ArrayList<>();
            final List<Object> results = ring.onEveryRank(rank ->
            {
                if (rank != 0)
                {
                    int served = 0;
                    while (ranks.get(rank).serveOne())
                    {
                        served++;
                    }
                    return served;
                }
                Nd4j.getRandom().setSeed(11);
                for (int step = 0; step < STEPS; step++)
                {
                    ranks.get(0).fit(drawMinibatch(step));
                    endEpochAfter(ranks.get(0), step);
                    if (snapshotEvery > 0 && (step + 1) % snapshotEvery == 0)
                    {
                        snapshots.add(ranks.get(0).snapshot());
                    }
                }
                return ranks.get(0).finish();
            });
            return new Run((MultiLayerNetwork)results.get(0), snapshots, (Integer)results.get(1));
        }
    }

    private static DataSet drawMinibatch(final int step)
    {
        final int batch = 5 + step % 4;
        final INDArray features = Nd4j.randn(DataType.FLOAT, batch, 12);
        final INDArray labels = Nd4j.zeros(DataType.FLOAT, batch, 4);
        for (int r = 0; r < batch; r++)
        {
            labels.putScalar(r, Nd4j.getRandom().nextInt(4), 1.0);
        }
        return new DataSet(features, labels);
    }

    /** Raw float bits of parameters and updater state, and the iteration and epoch counts. */
    static void assertSameTraining(final String what, final MultiLayerNetwork expected, final MultiLayerNetwork actual)
    {
        assertSameBits(what + ": parameters", expected.params(), actual.params());
        assertSameBits(what + ": updater state", expected.getUpdater().getStateViewArray(),
            actual.getUpdater().getStateViewArray());
        assertEquals(expected.getIterationCount(), actual.getIterationCount(), what + ": iteration count");
        assertEquals(expected.getEpochCount(), actual.getEpochCount(), what + ": epoch count");
    }

    static void assertSameBits(final String what, final INDArray expected, final INDArray actual)
    {
        final float[] e = expected.toFloatVector();
        final float[] a = actual.toFloatVector();
        assertEquals(e.length, a.length, what + ": length");
        for (int i = 0; i < e.length; i++)
        {
            if (Float.floatToRawIntBits(e[i]) != Float.floatToRawIntBits(a[i]))
            {
                fail(what + ": first differing element is " + i + " of " + e.length + ": expected " + e[i]
                    + " (0x" + Integer.toHexString(Float.floatToRawIntBits(e[i])) + "), found " + a[i]
                    + " (0x" + Integer.toHexString(Float.floatToRawIntBits(a[i])) + ")");
            }
        }
    }
}
