package io.paratrain.sparktrainer.job;

import io.paratrain.sparktrainer.exceptions.TrainingInputException;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaRDD;
import org.nd4j.linalg.dataset.DataSet;

import java.io.Serializable;
import java.util.Iterator;
import java.util.List;

/**
 * Parsed examples (cached) and the check that runs before training: one Spark job counts the examples, finds the
 * first refused record in data order and the range of the features. Its tasks return refused records as values,
 * so bad data fails the job at once on the driver instead of making Spark retry each task.
 */
public final class CheckedExamples
{
    private final JavaRDD<Parsed> parsed;

    CheckedExamples(final JavaRDD<Parsed> parsed)
    {
        this.parsed = parsed.cache();
    }

    /**
     * The examples. After {@link #check} there is no refused record; unchecked, the task that meets one fails
     * with it (check first to have it named by its line in the file, and without Spark's task retries).
     */
    public JavaRDD<DataSet> examples()
    {
        return parsed.map(record ->
        {
            if (record.bad() != null)
            {
                throw new TrainingInputException(record.bad().withoutLineLookup());
            }
            return record.example();
        });
    }

    /**
     * Counts the examples; throws the first refused record (in data order) with its file and line or row.
     *
     * @param hadoop to read a text file's start when a record's line number must be found (see LineLocator).
     */
    Summary check(final Configuration hadoop)
    {
        final List<Summary> parts = parsed.mapPartitions(CheckedExamples::summarize).collect();
        long examples = 0;
        float min = Float.POSITIVE_INFINITY;
        float max = Float.NEGATIVE_INFINITY;
        for (final Summary part : parts)
        {
            if (part.firstBad() != null)
            {
                throw new TrainingInputException(LineLocator.describe(part.firstBad(), hadoop));
            }
            examples += part.examples();
            min = Math.min(min, part.minFeature());
            max = Math.max(max, part.maxFeature());
        }
        return new Summary(examples, min, max, null);
    }

    private static Iterator<Summary> summarize(final Iterator<Parsed> records)
    {
        long examples = 0;
        float min = Float.POSITIVE_INFINITY;
        float max = Float.NEGATIVE_INFINITY;
        while (records.hasNext())
        {
            final Parsed record = records.next();
            if (record.bad() != null)
            {
                return List.of(new Summary(examples, min, max, record.bad())).iterator();
            }
            examples++;
            min = Math.min(min, record.minFeature());
            max = Math.max(max, record.maxFeature());
        }
        return List.of(new Summary(examples, min, max, null)).iterator();
    }

    /**
     * Examples and the smallest and largest feature over them (+-infinity when there are none), and a partition's
     * first refused record (always null in {@link #check}'s result). A class, not a record: it is a task result,
     * and Kryo's field serializer (Spark's default with Kryo) cannot create records.
     */
    static final class Summary implements Serializable
    {
        private static final long serialVersionUID = 1L;
        private final long examples;
        private final float minFeature;
        private final float maxFeature;
        private final BadRecord firstBad;

        Summary(final long examples, final float minFeature, final float maxFeature, final BadRecord firstBad)
        {
            this.examples = examples;
            this.minFeature = minFeature;
            this.maxFeature = maxFeature;
            this.firstBad = firstBad;
        }

        long examples()
        {
            return examples;
        }

        float minFeature()
        {
            return minFeature;
        }

        float maxFeature()
        {
            return maxFeature;
        }

        BadRecord firstBad()
        {
            return firstBad;
        }
    }
}
