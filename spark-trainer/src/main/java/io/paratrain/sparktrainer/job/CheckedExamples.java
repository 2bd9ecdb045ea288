package io.paratrain.sparktrainer.job;

import io.paratrain.sparktrainer.exceptions.TrainingInputException;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.storage.StorageLevel;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import scala.Tuple2;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * The examples of one input, parsed into cached parts ({@link ExampleChunk}), and the check that runs before
 * training: one Spark job (for the training and the test data together) parses every row, counts the examples,
 * finds the first refused record in data order and the range of the features. Its tasks return refused records as
 * values, so bad data fails the job at once on the driver instead of making Spark retry each task. After the check,
 * {@link #examples} puts the parts in data order (with no shuffle when the reader made them so already: the bundled
 * data).
 */
public final class CheckedExamples
{
    private final JavaRDD<ExampleChunk> chunks;
    private final RecordChecks checks;
    /** The message for a refused record (on the driver: finds its line). */
    private final Function<BadRecord, String> describe;
    /**
     * n when the parts are already what {@link #examples}(n) makes: one per partition, in n partitions of the
     * examples split as {@link DataOrder.Split} splits them; 0 when they must be put in order.
     */
    private final int orderedPartitions;
    private List<ExampleChunk> checked;
    private JavaRDD<ExampleChunk.Page> ordered;

    CheckedExamples(final JavaRDD<ExampleChunk> chunks, final RecordChecks checks,
        final Function<BadRecord, String> describe, final int orderedPartitions)
    {
        this.chunks = chunks.persist(StorageLevel.MEMORY_ONLY());
        this.checks = checks;
        this.describe = describe;
        this.orderedPartitions = orderedPartitions;
    }

    /** Counts the examples; throws the first refused record (in data order) with its file and line or row. */
    public Summary check()
    {
        return check(List.of(this)).get(0);
    }

    /**
     * {@link #check()} for several inputs (the training and the test data) in one Spark job, which saves a cold
     * job's start-up per input; the first input's refused record is thrown before the second's, as checking them
     * one after the other would.
     */
    static List<Summary> check(final List<CheckedExamples> inputs)
    {
        JavaRDD<Tuple2<Integer, ExampleChunk>> all = null;
        for (int i = 0; i < inputs.size(); i++)
        {
            final int input = i;
            final JavaRDD<Tuple2<Integer, ExampleChunk>> tagged = inputs.get(i).chunks.map(chunk ->
                new Tuple2<>(input, chunk.summary()));
            all = all == null ? tagged : all.union(tagged);
        }
        final List<List<ExampleChunk>> parts = new ArrayList<>();
        inputs.forEach(input -> parts.add(new ArrayList<>()));
        for (final Tuple2<Integer, ExampleChunk> part : all.collect())
        {
            parts.get(part._1()).add(part._2());
        }
        final List<Summary> summaries = new ArrayList<>();
        for (int i = 0; i < inputs.size(); i++)
        {
            summaries.add(inputs.get(i).summarize(parts.get(i)));
        }
        return summaries;
    }

    /** The summary of this input's checked parts; throws its first refused record in data order. */
    private Summary summarize(final List<ExampleChunk> parts)
    {
        parts.sort(ExampleChunk::compare);
        long examples = 0;
        float min = Float.POSITIVE_INFINITY;
        float max = Float.NEGATIVE_INFINITY;
        for (final ExampleChunk part : parts)
        {
            if (part.bad() != null)
            {
                throw new TrainingInputException(describe.apply(part.bad()));
            }
            examples += part.rows();
            min = Math.min(min, part.minFeature());
            max = Math.max(max, part.maxFeature());
        }
        checked = parts;
        return new Summary(examples, min, max);
    }

    /**
     * The checked examples in data order as DataSets of up to {@link ExampleChunk#PAGE_ROWS} rows, in
     * {@code partitions} partitions of consecutive examples (one per replica: the trainer can then hand them over
     * its ring without a Spark shuffle of its own). Reorders the parts with one shuffle, caches the result and
     * drops the parsed parts; or, when the parts are in that order already, takes their cached pages as they are.
     */
    public JavaRDD<DataSet> examples(final int partitions)
    {
        if (checked == null)
        {
            throw new IllegalStateException("check() the examples before using them");
        }
        if (ordered == null && partitions == orderedPartitions)
        {
            ordered = chunks.flatMap(chunk -> chunk.pages().iterator()); // the cached parts, as they are
        }
        if (ordered == null)
        {
            ordered = DataOrder.of(chunks, checked, partitions).persist(StorageLevel.MEMORY_ONLY());
            ordered.count(); // before the parts are dropped
            chunks.unpersist(false);
        }
        final int features = checks.features();
        final int classes = checks.classes();
        return ordered.map(page -> dataSet(page, features, classes));
    }

    private static DataSet dataSet(final ExampleChunk.Page page, final int features, final int classes)
    {
        final float[] y = new float[page.rows() * classes];
        for (int r = 0; r < page.rows(); r++)
        {
            y[r * classes + page.labels()[r]] = 1;
        }
        return new DataSet(Nd4j.create(page.features(), new long[] {page.rows(), features}, 'c'),
            Nd4j.create(y, new long[] {page.rows(), classes}, 'c'));
    }

    /**
     * Examples and the smallest and largest feature over them (+-infinity when there are none). A class, not a
     * record, as the other values of the check.
     */
    public static final class Summary implements Serializable
    {
        private static final long serialVersionUID = 2L;
        private final long examples;
        private final float minFeature;
        private final float maxFeature;

        Summary(final long examples, final float minFeature, final float maxFeature)
        {
            this.examples = examples;
            this.minFeature = minFeature;
            this.maxFeature = maxFeature;
        }

        public long examples()
        {
            return examples;
        }

        public float minFeature()
        {
            return minFeature;
        }

        public float maxFeature()
        {
            return maxFeature;
        }
    }
}
