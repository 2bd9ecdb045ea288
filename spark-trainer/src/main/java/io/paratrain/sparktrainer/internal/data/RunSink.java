package io.paratrain.sparktrainer.internal.data;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Takes a replica's runs as the shuffle delivers them (in any order) and holds them until their bytes exceed the
 * spill threshold; from then on every run, the held ones first, is appended to a {@link RunFile} instead, so the
 * replica holds at most the threshold plus one run. At the end the runs are put in index order and merged per step:
 * in memory ({@link HeldMinibatches}), or read back from the run file one step at a time and written once as that
 * step's minibatch to the spill file ({@link SpilledMinibatches}), after which the run file is deleted.
 */
final class RunSink
{
    private static final Logger LOG = LoggerFactory.getLogger(RunSink.class);

    private final ExamplePlan plan;
    private final int rank;
    private final long spillAboveBytes;
    private final String owner;
    private final List<Long> heldIndex = new ArrayList<>();
    private final List<MultiDataSet> heldRuns = new ArrayList<>();
    private long heldBytes;
    private RunFile spilled;
    private long[] spilledIndex = new long[64];
    private int[] spilledExamples = new int[64];

    RunSink(final ExamplePlan plan, final int rank, final long spillAboveBytes)
    {
        this.plan = plan;
        this.rank = rank;
        this.spillAboveBytes = spillAboveBytes;
        this.owner = "rank " + rank;
    }

    void add(final long index, final MultiDataSet run)
    {
        if (spilled != null)
        {
            spill(index, run);
            return;
        }
        heldIndex.add(index);
        heldRuns.add(run);
        heldBytes += bytes(run);
        if (heldBytes > spillAboveBytes)
        {
            LOG.info("{}: the {} runs of examples it received take {} bytes, more than spillAboveBytes={}: spilling " +
                "them", owner, heldRuns.size(), heldBytes, spillAboveBytes);
            spilled = new RunFile(SpillFiles.newFile(owner + " runs"), owner);
            for (int held = 0; held < heldRuns.size(); held++)
            {
                spill(heldIndex.get(held), heldRuns.get(held));
            }
            heldIndex.clear();
            heldRuns.clear();
        }
    }

    Minibatches finish()
    {
        return spilled == null ? finishHeld() : finishSpilled();
    }

    /** After a failure: deletes the run file, if any. */
    void abandon()
    {
        if (spilled != null)
        {
            spilled.delete();
        }
    }

    private Minibatches finishHeld()
    {
        final int[] order = IntStream.range(0, heldRuns.size()).boxed()
            .sorted(Comparator.comparingLong(heldIndex::get)).mapToInt(Integer::intValue).toArray();
        final int[] start = LocalBatches.stepStarts(Arrays.stream(order).mapToLong(heldIndex::get).toArray(),
            Arrays.stream(order).map(run -> Examples.count(heldRuns.get(run))).toArray(), plan, rank);
        final MultiDataSet[] steps = new MultiDataSet[plan.stepsPerEpoch()];
        for (int step = 0; step < steps.length; step++)
        {
            final List<MultiDataSet> runs = new ArrayList<>();
            for (int i = start[step]; i < start[step + 1]; i++)
            {
                runs.add(heldRuns.get(order[i]));
            }
            steps[step] = runs.isEmpty() ? null : MinibatchMerge.merge(runs);
        }
        return new HeldMinibatches(steps);
    }

    private Minibatches finishSpilled()
    {
        final int count = spilled.runs();
        final int[] order = IntStream.range(0, count).boxed()
            .sorted(Comparator.comparingLong(run -> spilledIndex[run])).mapToInt(Integer::intValue).toArray();
        final int[] start = LocalBatches.stepStarts(
            Arrays.stream(order).mapToLong(run -> spilledIndex[run]).toArray(),
            Arrays.stream(order).map(run -> spilledExamples[run]).toArray(), plan, rank);
        final SpilledMinibatches.Writer writer = new SpilledMinibatches.Writer(SpillFiles.newFile(owner),
            plan.stepsPerEpoch(), owner);
        try
        {
            for (int step = 0; step < plan.stepsPerEpoch(); step++)
            {
                final List<MultiDataSet> runs = new ArrayList<>();
                for (int i = start[step]; i < start[step + 1]; i++)
                {
                    runs.add(spilled.read(order[i]));
                }
                writer.append(runs.isEmpty() ? null : MinibatchMerge.merge(runs));
            }
        }
        catch (final RuntimeException | Error ex)
        {
            writer.abandon();
            throw ex;
        }
        LOG.info("{}: {} runs ({} bytes) spilled as they arrived, merged into {} steps", owner, count,
            spilled.bytes(), plan.stepsPerEpoch());
        spilled.delete();
        spilled = null;
        return writer.finish();
    }

    private void spill(final long index, final MultiDataSet run)
    {
        final int at = spilled.runs();
        if (at == spilledIndex.length)
        {
            spilledIndex = Arrays.copyOf(spilledIndex, at * 2);
            spilledExamples = Arrays.copyOf(spilledExamples, at * 2);
        }
        spilledIndex[at] = index;
        spilledExamples[at] = Examples.count(run);
        spilled.append(run);
    }

    /** The bytes of the run's arrays (features, labels, masks). */
    static long bytes(final MultiDataSet run)
    {
        long bytes = 0;
        for (final INDArray part : ExampleLayout.parts(run))
        {
            bytes += part == null ? 0 : part.length() * part.dataType().width();
        }
        return bytes;
    }
}
