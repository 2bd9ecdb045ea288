package io.paratrain.gradientsharing.internal;

import io.paratrain.gradientsharing.Nd4jMemory;
import io.paratrain.gradientsharing.exceptions.CollectiveInputException;
import org.agrona.BufferUtil;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.function.Consumer;

/**
 * Gives the ring a direct {@link ByteBuffer} region for each kind of argument a caller passes: an INDArray's own
 * host memory (or a contiguous copy written back), a {@code float[]} copied through a staging buffer, and a relay
 * buffer for the ranks a gather passes through. The staging and relay buffers are allocated once, grown when a
 * call needs more, and freed by {@link #close()}.
 */
final class RegionAdapter implements AutoCloseable
{
    private static final int MAX_FLOATS = Integer.MAX_VALUE / Float.BYTES;
    private static final ByteBuffer EMPTY = ByteBuffer.allocateDirect(0);

    private final int rank;
    private ByteBuffer staging;
    private ByteBuffer relay;

    RegionAdapter(final int rank)
    {
        this.rank = rank;
    }

    /**
     * Runs {@code operation} on the array's own memory when ND4J exposes it contiguously, otherwise on a
     * contiguous copy that is written back afterwards.
     */
    void onHostMemory(final INDArray array, final Consumer<ByteBuffer> operation)
    {
        if (array.isEmpty())
        {
            operation.accept(EMPTY);
            return;
        }
        ByteBuffer bytes = Nd4jMemory.isContiguous(array) ? Nd4jMemory.hostBytes(array) : null;
        final INDArray target = bytes == null ? array.dup() : array;
        if (bytes == null)
        {
            bytes = Nd4jMemory.hostBytes(target);
            if (bytes == null)
            {
                throw new CollectiveInputException("rank " + rank + ": ND4J gives no host memory for a copy of " +
                    "an array of shape " + Arrays.toString(array.shape()));
            }
        }
        operation.accept(bytes);
        Nd4jMemory.markHostWritten(target);
        if (target != array)
        {
            array.assign(target);
        }
    }

    /** Runs {@code operation} on a direct copy of {@code data} and copies the result back. */
    void onStagedCopy(final float[] data, final Consumer<ByteBuffer> operation)
    {
        final ByteBuffer stage = staging(data.length);
        stage.asFloatBuffer().put(data);
        operation.accept(stage);
        stage.asFloatBuffer().get(data);
    }

    /** The staging buffer, cleared and limited to {@code floats} floats in native order. */
    ByteBuffer staging(final int floats)
    {
        if (floats > MAX_FLOATS)
        {
            throw new CollectiveInputException("rank " + rank + ": " + floats + " floats is more than " +
                MAX_FLOATS + " per call");
        }
        final int bytes = floats * Float.BYTES;
        if (staging == null || staging.capacity() < bytes)
        {
            if (staging != null)
            {
                BufferUtil.free(staging);
            }
            staging = ByteBuffer.allocateDirect(Math.max(bytes, 4096)).order(ByteOrder.nativeOrder());
        }
        return staging.clear().limit(bytes);
    }

    /** A relay buffer of at least {@code bytes}. */
    ByteBuffer relay(final int bytes)
    {
        if (relay == null || relay.capacity() < bytes)
        {
            if (relay != null)
            {
                BufferUtil.free(relay);
            }
            relay = ByteBuffer.allocateDirect(bytes);
        }
        return relay;
    }

    @Override
    public void close()
    {
        if (staging != null)
        {
            BufferUtil.free(staging);
            staging = null;
        }
        if (relay != null)
        {
            BufferUtil.free(relay);
            relay = null;
        }
    }
}
