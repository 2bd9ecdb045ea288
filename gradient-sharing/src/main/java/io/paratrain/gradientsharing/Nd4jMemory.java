package io.paratrain.gradientsharing;

import io.paratrain.gradientsharing.exceptions.CollectiveInputException;
import org.agrona.concurrent.UnsafeBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.concurrency.AffinityManager;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Gives the collective direct access to an INDArray's host memory. On the CUDA backend the host copy is
 * synchronised first and marked as the newest afterwards; on the CPU backend both calls are no-ops.
 */
public final class Nd4jMemory
{
    private Nd4jMemory()
    {
    }

    public static void requireFloat(final INDArray array, final String operation)
    {
        if (array == null)
        {
            throw new CollectiveInputException(operation + ": array is null");
        }
        if (array.dataType() != DataType.FLOAT)
        {
            throw new CollectiveInputException(operation + ": expected a FLOAT array, got " + array.dataType() +
                " with shape " + java.util.Arrays.toString(array.shape()));
        }
        if (array.length() > Integer.MAX_VALUE / Float.BYTES)
        {
            throw new CollectiveInputException(operation + ": " + array.length() + " elements is more than " +
                Integer.MAX_VALUE / Float.BYTES + " per call; reduce it in parts");
        }
    }

    /**
     * True when the elements occupy one gap-free block at the start of the array's data buffer, in whatever
     * order. A view's {@code data()} is a buffer that already starts at the view's offset.
     */
    public static boolean isContiguous(final INDArray array)
    {
        return !array.isEmpty() && (array.length() == 1 || array.elementWiseStride() == 1) &&
            array.data().length() >= array.length();
    }

    /**
     * The array's elements as a direct native-order ByteBuffer over its own memory, or null when ND4J cannot give
     * one that starts exactly at the array's first element (the caller then works on a copy).
     */
    public static ByteBuffer hostBytes(final INDArray array)
    {
        Nd4j.getAffinityManager().ensureLocation(array, AffinityManager.Location.HOST);
        final ByteBuffer bytes = array.data().asNio();
        final long byteLength = array.length() * Float.BYTES;
        if (bytes == null || !bytes.isDirect() || bytes.capacity() < byteLength ||
            new UnsafeBuffer(bytes).addressOffset() != array.data().addressPointer().address())
        {
            return null;
        }
        return bytes.duplicate().clear().limit((int)byteLength).order(ByteOrder.nativeOrder());
    }

    /** Marks the host copy as the newest after the collective wrote it. */
    public static void markHostWritten(final INDArray array)
    {
        Nd4j.getAffinityManager().tagLocation(array, AffinityManager.Location.HOST);
    }
}
