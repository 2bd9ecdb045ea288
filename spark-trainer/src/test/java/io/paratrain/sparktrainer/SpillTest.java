package io.paratrain.sparktrainer;

import io.paratrain.sparktrainer.internal.data.ExamplePlan;
import io.paratrain.sparktrainer.internal.data.Examples;
import io.paratrain.sparktrainer.internal.data.LocalBatches;
import io.paratrain.sparktrainer.internal.data.Minibatches;
import io.paratrain.sparktrainer.internal.data.SpillThreshold;
import io.paratrain.sparktrainer.internal.data.SpilledMinibatches;
import io.paratrain.sparktrainer.exceptions.TrainerConfigException;
import org.bytedeco.javacpp.Pointer;
import org.apache.spark.api.java.JavaRDD;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import scala.Tuple2;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Replicas whose minibatches exceed {@link TrainerConfig#spillAboveBytes} write them once to a local file and read
 * each step back every epoch: the trained model is the held path's, bit for bit, and the file is gone when the task
 * ends, also when it fails.
 */
@Timeout(300)
class SpillTest
{
    @RegisterExtension
    static final LocalSpark SPARK = new LocalSpark(2);

    /**
     * Uneven input minibatches in 3 partitions (so they take the shuffle), a last step smaller than the others and 3
     * epochs: held, spilled from the start, and spilled once the held bytes pass 2 KB (mid-build) give the same bits.
     * The spill files exist while the replicas train (seen from a listener; local mode, one JVM) and not after.
     */
    @Test
    void spilledMinibatchesTrainBitForBitAsHeldOnes()
    {
        final List<DataSet> examples = Networks.examples(2 * 8 * 12 + 5, 23);
        final List<DataSet> batches = new ArrayList<>();
        int start = 0;
        for (final int size : new int[] {7, 30, 1, 12, 50, 40, 3, 54})
        {
            batches.add(DataSet.merge(examples.subList(start, start + size)));
            start += size;
        }
        final JavaRDD<DataSet> data = SPARK.sc().parallelize(batches, 3);
        final MultiLayerNetwork initial = Networks.mlp(new Adam(0.01), 7);

        final MultiLayerNetwork held = train(initial, data, TrainerConfig.SPILL_NEVER, 0);
        final MultiLayerNetwork spilled = train(initial, data, TrainerConfig.SPILL_ALWAYS, 2);
        final MultiLayerNetwork midway = train(initial, data, 2_048, 2);

        assertTrue(held.params().sub(initial.params()).norm2Number().doubleValue() > 1e-2, "training moved");
        RawBits.assertSameModel(held, spilled, "spilled from the first step against held");
        RawBits.assertSameModel(held, midway, "spilled above 2 KB against held");
        assertEquals(List.of(), SpillFilesFound.now(), "spill files left after the fits");
    }

    /** A replica fails its first step (labels of the wrong width); its spill file is deleted all the same. */
    @Test
    void theSpillFileIsDeletedWhenTrainingFails() throws InterruptedException
    {
        final List<DataSet> wrongLabels = new ArrayList<>();
        for (final DataSet example : Networks.examples(64, 3))
        {
            wrongLabels.add(new DataSet(example.getFeatures(), Nd4j.zeros(1, Networks.CLASSES + 1)));
        }
        final TrainerConfig config = TrainerConfig.builder().epochs(1).workers(2).batchSizePerWorker(8)
            .spillAboveBytes(TrainerConfig.SPILL_ALWAYS).build();
        final MultiLayerNetwork network = Networks.mlp(new Adam(0.01), 7);
        final Exception ex = assertThrows(Exception.class, () -> new DataParallelTrainer(SPARK.sc(), config)
            .fit(network, SPARK.sc().parallelize(Networks.minibatches(wrongLabels, 10), 3)));
        assertTrue(ex.getMessage().contains("Labels and preOutput must have equal shapes: got shapes [8, 5] vs " +
            "[8, 4]"), ex.getMessage());
        // The fit reports the failure once rank 0's error is in or after 2 s (BarrierStage): under load a killed
        // peer may still be unwinding (closing its ring, then its spill file), so wait for it, with a deadline.
        final long deadlineNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!SpillFilesFound.now().isEmpty() && System.nanoTime() < deadlineNs)
        {
            Thread.sleep(50);
        }
        assertEquals(List.of(), SpillFilesFound.now(), "spill files left 30 s after the failed fit");
    }

    /** The partition's iterator fails after the first steps were spilled: the file goes with the error. */
    @Test
    void theSpillFileIsDeletedWhenBuildingTheMinibatchesFails()
    {
        final ExamplePlan plan = new ExamplePlan(40, 1, 8);
        final List<DataSet> examples = Networks.examples(40, 5);
        final AtomicInteger read = new AtomicInteger();
        final Iterator<Tuple2<Long, MultiDataSet>> failing = new Iterator<>()
        {
            @Override
            public boolean hasNext()
            {
                return true;
            }

            @Override
            public Tuple2<Long, MultiDataSet> next()
            {
                final int index = read.getAndIncrement();
                if (index == 20)
                {
                    assertEquals(1, SpillFilesFound.now().size(), "the spill file, while the steps are built");
                    throw new IllegalStateException("the shuffle read failed");
                }
                return new Tuple2<>((long)index, Examples.of(examples.get(index)));
            }
        };
        final IllegalStateException ex = assertThrows(IllegalStateException.class,
            () -> LocalBatches.build(failing, plan, 0, TrainerConfig.SPILL_ALWAYS));
        assertEquals("the shuffle read failed", ex.getMessage());
        assertEquals(List.of(), SpillFilesFound.now(), "spill files left after the failed build");
    }

    /** Steps read back in any order and any number of times, raw bits and masks included; close deletes. */
    @Test
    void spilledStepsReadBackExactly()
    {
        final ExamplePlan plan = new ExamplePlan(19, 1, 4);
        final List<DataSet> examples = Networks.examples(19, 9);
        final List<Tuple2<Long, MultiDataSet>> runs = new ArrayList<>();
        for (int i = 0; i < examples.size(); i++)
        {
            final DataSet example = examples.get(i);
            // a feature mask too, and -0.0 and NaN, whose raw bits must survive
            example.getFeatures().putScalar(0, i == 3 ? -0.0f : i == 4 ? Float.NaN : example.getFeatures().getFloat(0));
            example.setFeaturesMaskArray(Nd4j.ones(org.nd4j.linalg.api.buffer.DataType.FLOAT, 1, Networks.FEATURES));
            runs.add(new Tuple2<>((long)i, Examples.of(example)));
        }
        final Minibatches spilled = LocalBatches.build(runs.iterator(), plan, 0, TrainerConfig.SPILL_ALWAYS);
        final Minibatches held = LocalBatches.build(runs.iterator(), plan, 0, TrainerConfig.SPILL_NEVER);
        assertInstanceOf(SpilledMinibatches.class, spilled);
        assertEquals(plan.stepsPerEpoch(), spilled.steps());
        assertEquals(1, SpillFilesFound.now().size());
        for (final int step : new int[] {4, 0, 2, 4, 1, 3, 0})
        {
            final MultiDataSet want = held.get(step);
            final MultiDataSet got = spilled.get(step);
            RawBits.assertSameBits(want.getFeatures(0), got.getFeatures(0), "step " + step + " features");
            RawBits.assertSameBits(want.getLabels(0), got.getLabels(0), "step " + step + " labels");
            RawBits.assertSameBits(want.getFeaturesMaskArray(0), got.getFeaturesMaskArray(0), "step " + step +
                " mask");
            assertEquals(null, got.getLabelsMaskArrays(), "step " + step + " labels mask");
        }
        spilled.close();
        assertEquals(List.of(), SpillFilesFound.now(), "spill files left after close");
    }

    /**
     * With JavaCPP's defaults (maxbytes = -Xmx; maxphysicalbytes a multiple of it, 4x measured here) and one
     * replica: a quarter of the heap.
     */
    @Test
    void theDerivedThresholdIsAQuarterOfTheHeapWithJavaCppsDefaults()
    {
        final long heap = Runtime.getRuntime().maxMemory();
        assertEquals(heap, Pointer.maxBytes(), "JavaCPP's default maxbytes (this JVM sets none)");
        assertTrue(Pointer.maxPhysicalBytes() - heap >= heap, "JavaCPP's default maxphysicalbytes " +
            Pointer.maxPhysicalBytes() + " leaves at least a heap beside the heap");
        assertEquals(heap / 4, SpillThreshold.resolve(TrainerConfig.SPILL_DERIVED));
        assertEquals(12_345, SpillThreshold.resolve(12_345));
        final TrainerConfigException ex = assertThrows(TrainerConfigException.class,
            () -> TrainerConfig.builder().epochs(1).batchSizePerWorker(32).spillAboveBytes(-2).build());
        assertEquals("invalid TrainerConfig.spillAboveBytes=-2: expected >= 0, or -1 (SPILL_DERIVED) for a threshold " +
            "derived from the executor's memory", ex.getMessage());
    }

    private static MultiLayerNetwork train(final MultiLayerNetwork initial, final JavaRDD<DataSet> data,
        final long spillAboveBytes, final int spillFilesWhileTraining)
    {
        final MultiLayerNetwork network = initial.clone();
        final TrainerConfig config = TrainerConfig.builder().workers(2).batchSizePerWorker(8).epochs(3)
            .checksumEverySteps(5).spillAboveBytes(spillAboveBytes).build();
        final List<Integer> seen = new ArrayList<>();
        new DataParallelTrainer(SPARK.sc(), config).addListener(metrics -> seen.add(SpillFilesFound.now().size()))
            .fit(network, data);
        assertEquals(3 * 13, seen.size(), "steps reported");
        // the last steps' reports may arrive after a replica has ended and deleted its file
        assertEquals(spillFilesWhileTraining, seen.stream().mapToInt(Integer::intValue).max().orElseThrow(),
            "spill files while the replicas train, seen at each step: " + seen);
        return network;
    }
}
