package io.paratrain.modelsplit.internal;

import org.agrona.concurrent.UnsafeBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.concurrency.AffinityManager;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Direct native-order byte views of FLOAT arrays for the collective's buffer calls (gather). An array is viewed
 * in its own memory when ND4J exposes it at the right address; otherwise the bytes are copied, so callers use
 * {@link #read} / {@link #receive} and never assume which happened.
 */
final class HostBytes
{
    private HostBytes()
    {
    }

    /** The elements of {@code array} in C order (row-major) as bytes to send. */
    static ByteBuffer read(final INDArray array)
    {
        final INDArray c = cOrder(array);
        final ByteBuffer own = ownMemory(c);
        if (own != null)
        {
            return own;
        }
        final ByteBuffer copy = ByteBuffer.allocateDirect((int)c.length() * Float.BYTES).order(ByteOrder.nativeOrder());
        copy.asFloatBuffer().put(c.data().asFloat());
        return copy;
    }

    /** A fresh FLOAT vector of {@code floats} elements and a byte view to receive into; see {@link #finish}. */
    static Target receive(final long floats)
    {
        final INDArray array = Nd4j.createUninitialized(DataType.FLOAT, floats);
        final ByteBuffer own = ownMemory(array);
        return new Target(array, own != null ? own
            : ByteBuffer.allocateDirect((int)floats * Float.BYTES).order(ByteOrder.nativeOrder()), own == null);
    }

    /** A receive target: after the collective wrote {@code bytes}, {@link #finish} gives the array. */
    record Target(INDArray array, ByteBuffer bytes, boolean copied)
    {
        INDArray finish()
        {
            if (copied)
            {
                final float[] values = new float[(int)array.length()];
                bytes.duplicate().order(ByteOrder.nativeOrder()).clear().asFloatBuffer().get(values);
                array.assign(Nd4j.createFromArray(values));
            }
            else
            {
                Nd4j.getAffinityManager().tagLocation(array, AffinityManager.Location.HOST);
            }
            return array;
        }
    }

    /** The array itself when it is a C-order, gap-free, offset-free FLOAT array, else such a copy. */
    static INDArray cOrder(final INDArray array)
    {
        final INDArray floats = array.dataType() == DataType.FLOAT ? array : array.castTo(DataType.FLOAT);
        final boolean plain = floats.ordering() == 'c' && !floats.isView() && floats.offset() == 0
            && (floats.length() == 1 || floats.elementWiseStride() == 1);
        return plain ? floats : floats.dup('c');
    }

    private static ByteBuffer ownMemory(final INDArray array)
    {
        Nd4j.getAffinityManager().ensureLocation(array, AffinityManager.Location.HOST);
        final ByteBuffer bytes = array.data().asNio();
        final long byteLength = array.length() * Float.BYTES;
        if (bytes == null || !bytes.isDirect() || bytes.capacity() < byteLength
            || address(bytes) != array.data().addressPointer().address())
        {
            return null;
        }
        return bytes.duplicate().clear().limit((int)byteLength).order(ByteOrder.nativeOrder());
    }

    private static long address(final ByteBuffer direct)
    {
        return new UnsafeBuffer(direct).addressOffset();
    }
}
