package io.paratrain.sparktrainer.job;

import org.apache.spark.api.java.function.Function;

/**
 * In a task: share {@code part} of {@code parts} of a bundled gzip CSV file's examples ({@link BundledLines#ranges}),
 * read from the jar on the task's classpath and parsed into one {@link ExampleChunk}.
 */
final class BundledShare implements Function<Integer, ExampleChunk>
{
    private static final long serialVersionUID = 1L;

    private final String resource;
    private final int parts;
    private final String name;
    private final ChunkBuilder builder;

    BundledShare(final String resource, final int parts, final String name, final ChunkBuilder builder)
    {
        this.resource = resource;
        this.parts = parts;
        this.name = name;
        this.builder = builder;
    }

    @Override
    public ExampleChunk call(final Integer part)
    {
        final BundledLines lines = BundledLines.of(BundledData.compressed(resource), resource);
        final int[] range = lines.ranges(parts).get(part);
        return builder.lines(name, range[0], lines.lines(range[0], range[1]));
    }
}
