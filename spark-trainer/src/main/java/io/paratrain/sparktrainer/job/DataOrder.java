package io.paratrain.sparktrainer.job;

import org.apache.spark.Partitioner;
import org.apache.spark.api.java.JavaRDD;
import scala.Tuple2;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Puts checked parts in data order, in a given number of partitions of consecutive examples: example i (counted
 * over the parts sorted by {@link ExampleChunk#compare}) goes to partition p with
 * {@code floor(p * total / n) <= i < floor((p + 1) * total / n)}, at its place among that partition's examples.
 * Spark's file scan orders its parts by size and packs small files together, so the data order is only known on
 * the driver, after the check has counted every part; one shuffle of the pages (keyed by the global index of
 * their first example, a page split where it straddles two partitions) then moves each page once, where it
 * belongs.
 */
final class DataOrder
{
    private DataOrder()
    {
    }

    static JavaRDD<ExampleChunk.Page> of(final JavaRDD<ExampleChunk> chunks, final List<ExampleChunk> sorted,
        final int partitions)
    {
        final Map<String, Long> firstIndex = new HashMap<>();
        long total = 0;
        for (final ExampleChunk part : sorted)
        {
            firstIndex.put(key(part), total);
            total += part.rows();
        }
        final Split split = new Split(total, partitions);
        final int features = sorted.isEmpty() ? 0 : sorted.get(0).features();
        return chunks.flatMapToPair(chunk ->
        {
            final List<Tuple2<Long, ExampleChunk.Page>> pieces = new ArrayList<>();
            long index = firstIndex.get(key(chunk));
            for (final ExampleChunk.Page page : chunk.pages())
            {
                int from = 0;
                while (from < page.rows())
                {
                    final long end = split.start(split.getPartition(index) + 1);
                    final int to = (int)Math.min(page.rows(), from + (end - index));
                    pieces.add(new Tuple2<>(index, from == 0 && to == page.rows() ? page :
                        page.slice(from, to, features)));
                    index += to - from;
                    from = to;
                }
            }
            return pieces.iterator();
        }).repartitionAndSortWithinPartitions(split).values();
    }

    private static String key(final ExampleChunk part)
    {
        return part.file() + '\u0000' + part.partStart();
    }

    /** Example index to partition: {@code n} ranges of consecutive indices, sizes differing by at most one. */
    static final class Split extends Partitioner
    {
        private static final long serialVersionUID = 1L;
        private final long total;
        private final int partitions;

        Split(final long total, final int partitions)
        {
            this.total = total;
            this.partitions = partitions;
        }

        /** The first index of partition {@code p} ({@code total} for {@code p == n}). */
        long start(final int p)
        {
            return Math.multiplyExact(p, total) / partitions;
        }

        @Override
        public int numPartitions()
        {
            return partitions;
        }

        @Override
        public int getPartition(final Object key)
        {
            final long index = (Long)key;
            int p = (int)Math.min(partitions - 1, Math.max(0, (double)index * partitions / Math.max(1, total)));
            while (p > 0 && start(p) > index)
            {
                p--;
            }
            while (p < partitions - 1 && start(p + 1) <= index)
            {
                p++;
            }
            return p;
        }

        @Override
        public boolean equals(final Object other)
        {
            return other instanceof Split split && split.total == total && split.partitions == partitions;
        }

        @Override
        public int hashCode()
        {
            return Long.hashCode(total) * 31 + partitions;
        }
    }
}
