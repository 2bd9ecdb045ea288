package io.paratrain.gradientsharing.internal;

/**
 * Cuts {@code length} elements into {@code parts} contiguous segments whose sizes differ by at most one
 * (the first {@code length % parts} segments get the extra element), and each segment into chunks of at most
 * {@code chunkElements}. An empty segment still has one (empty) chunk so that every step of a ring operation
 * exchanges at least one frame: this keeps lengths checked and ranks in lockstep even for zero-length input.
 */
public final class SegmentPlan
{
    private final long length;
    private final int parts;
    private final int chunkElements;

    public SegmentPlan(final long length, final int parts, final int chunkElements)
    {
        if (length < 0 || parts < 1 || chunkElements < 1)
        {
            throw new IllegalArgumentException(
                "length=" + length + ", parts=" + parts + ", chunkElements=" + chunkElements);
        }
        this.length = length;
        this.parts = parts;
        this.chunkElements = chunkElements;
    }

    public long segmentStart(final int segment)
    {
        final long base = length / parts;
        final long extra = length % parts;
        return segment * base + Math.min(segment, extra);
    }

    public long segmentLength(final int segment)
    {
        return length / parts + (segment < length % parts ? 1 : 0);
    }

    public int chunkCount(final int segment)
    {
        final long segmentLength = segmentLength(segment);
        return segmentLength == 0 ? 1 : (int)((segmentLength + chunkElements - 1) / chunkElements);
    }

    /** First element of chunk {@code chunk} of {@code segment}. */
    public long chunkStart(final int segment, final int chunk)
    {
        return segmentStart(segment) + (long)chunk * chunkElements;
    }

    public int chunkLength(final int segment, final int chunk)
    {
        return (int)Math.min(chunkElements, segmentLength(segment) - (long)chunk * chunkElements);
    }
}
