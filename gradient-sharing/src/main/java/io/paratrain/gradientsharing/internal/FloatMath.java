package io.paratrain.gradientsharing.internal;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/** The element-wise float loops of the reduction; native byte order, indices in bytes. */
final class FloatMath
{
    private FloatMath()
    {
    }

    /** dst[i] += src[i] for {@code count} floats. */
    static void add(final MutableDirectBuffer dst, final int dstOffset, final DirectBuffer src, final int srcOffset,
        final int count)
    {
        for (int i = 0; i < count; i++)
        {
            final int d = dstOffset + (i << 2);
            dst.putFloat(d, dst.getFloat(d) + src.getFloat(srcOffset + (i << 2)));
        }
    }

    /** dst[i] = (dst[i] + src[i]) / divisor: the last reduce step of a mean, divided once by the owning rank. */
    static void addThenDivide(final MutableDirectBuffer dst, final int dstOffset, final DirectBuffer src,
        final int srcOffset, final int count, final float divisor)
    {
        for (int i = 0; i < count; i++)
        {
            final int d = dstOffset + (i << 2);
            dst.putFloat(d, (dst.getFloat(d) + src.getFloat(srcOffset + (i << 2))) / divisor);
        }
    }
}
