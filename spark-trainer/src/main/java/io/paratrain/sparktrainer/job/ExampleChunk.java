package io.paratrain.sparktrainer.job;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The examples of one part of the input (a Spark file split, or a slice of the bundled data), in the part's row
 * order, as pages of up to {@link #PAGE_ROWS} rows of floats; with the smallest and largest feature, and the part's
 * first refused record if it has one (then the part keeps no examples). The key {@code (file, partStart)} orders
 * the parts as the data's order: files in name order, parts in byte order.
 * <p>
 * A class, not a record: it travels through the user's {@code spark.serializer}, and Kryo's field serializer
 * cannot create records.
 */
final class ExampleChunk implements Serializable
{
    /** Rows per page: each page becomes one DataSet, the size the job has always handed to the trainer. */
    static final int PAGE_ROWS = 256;
    private static final long serialVersionUID = 1L;

    private final String file;
    private final long partStart;
    private final int features;
    private final List<Page> pages = new ArrayList<>();
    private long rows;
    private float minFeature = Float.POSITIVE_INFINITY;
    private float maxFeature = Float.NEGATIVE_INFINITY;
    private BadRecord bad;

    ExampleChunk(final String file, final long partStart, final int features)
    {
        this.file = file;
        this.partStart = partStart;
        this.features = features;
    }

    String file()
    {
        return file;
    }

    long partStart()
    {
        return partStart;
    }

    int features()
    {
        return features;
    }

    long rows()
    {
        return rows;
    }

    float minFeature()
    {
        return minFeature;
    }

    float maxFeature()
    {
        return maxFeature;
    }

    BadRecord bad()
    {
        return bad;
    }

    List<Page> pages()
    {
        return pages;
    }

    /** Orders parts as the data's order: by file name (as Hadoop's Path prints it), then by the part's first byte. */
    static int compare(final ExampleChunk a, final ExampleChunk b)
    {
        final int byFile = a.file.compareTo(b.file);
        return byFile != 0 ? byFile : Long.compare(a.partStart, b.partStart);
    }

    /** Where the next row's features go: {@link #page()}'s features from this offset on. */
    int nextRowOffset()
    {
        Page last = pages.isEmpty() ? null : pages.get(pages.size() - 1);
        if (last == null || last.rows == PAGE_ROWS)
        {
            last = new Page(new float[PAGE_ROWS * features], new int[PAGE_ROWS], 0);
            pages.add(last);
        }
        return last.rows * features;
    }

    /** The page {@link #nextRowOffset()} points into. */
    float[] page()
    {
        return pages.get(pages.size() - 1).features;
    }

    /** Keeps the row written at {@link #nextRowOffset()} (checked: finite features, label in range). */
    void keep(final int label)
    {
        final Page last = pages.get(pages.size() - 1);
        final int offset = last.rows * features;
        for (int f = offset; f < offset + features; f++)
        {
            minFeature = Math.min(minFeature, last.features[f]);
            maxFeature = Math.max(maxFeature, last.features[f]);
        }
        last.labels[last.rows++] = label;
        rows++;
    }

    /** Refuses the part: its first bad record, and no examples. */
    void refuse(final BadRecord record)
    {
        bad = record;
        pages.clear();
    }

    /** Trims the last page to its rows, so that no unused capacity is cached or shuffled. */
    ExampleChunk finish()
    {
        if (!pages.isEmpty())
        {
            final Page last = pages.get(pages.size() - 1);
            if (last.rows < PAGE_ROWS)
            {
                pages.set(pages.size() - 1, last.slice(0, last.rows, features));
            }
        }
        return this;
    }

    /** The same part without its pages: what the check sends to the driver. */
    ExampleChunk summary()
    {
        final ExampleChunk summary = new ExampleChunk(file, partStart, features);
        summary.rows = rows;
        summary.minFeature = minFeature;
        summary.maxFeature = maxFeature;
        summary.bad = bad;
        return summary;
    }

    /** Up to {@link #PAGE_ROWS} examples: row-major features and class labels. */
    static final class Page implements Serializable
    {
        private static final long serialVersionUID = 1L;
        private final float[] features;
        private final int[] labels;
        private int rows;

        Page(final float[] features, final int[] labels, final int rows)
        {
            this.features = features;
            this.labels = labels;
            this.rows = rows;
        }

        float[] features()
        {
            return features;
        }

        int[] labels()
        {
            return labels;
        }

        int rows()
        {
            return rows;
        }

        /** Rows {@code from} (inclusive) to {@code to} (exclusive) as a page of their own. */
        Page slice(final int from, final int to, final int featureCount)
        {
            return new Page(Arrays.copyOfRange(features, from * featureCount, to * featureCount),
                Arrays.copyOfRange(labels, from, to), to - from);
        }
    }
}
