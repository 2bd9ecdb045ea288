package io.paratrain.sparktrainer.internal.data;

import org.apache.hadoop.fs.FSDataInputStream;
import org.nd4j.linalg.api.buffer.BaseDataBuffer;
import org.nd4j.linalg.api.buffer.DataBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.shape.options.ArrayOptionsHelper;
import org.nd4j.linalg.exception.ND4JUnknownDataTypeException;
import org.nd4j.common.primitives.Triple;
import org.bytedeco.javacpp.indexer.Bfloat16Indexer;
import org.bytedeco.javacpp.indexer.HalfIndexer;

import java.io.IOException;
import java.util.Arrays;

/**
 * The shape and data type of one array as DL4J 1.0.0-M2's {@code Nd4j.write} stores it (what {@code DataSet.save}
 * and {@code MultiDataSet.save} write for each array), read from its header without its data. {@code Nd4j.write}
 * writes two buffers, each as {@code BaseDataBuffer.write} does: the allocation mode and the element count and
 * the data type, then the elements (a compressed buffer has its own header: algorithm, compressed bytes, original
 * bytes, elements, original type). The first buffer is the shape information: rank, shape, strides, extras (the
 * data type's bits), element-wise stride, order; the second holds the data, which {@link #read} seeks past.
 *
 * @param placeholder the array is [-1] of rank 1: what {@code MultiDataSet.save} writes for an absent mask.
 */
record SavedArray(long[] shape, DataType type, boolean placeholder)
{
    /** Ranks up to this many: a longer shape header is not one (ND4J's own maximum rank is 32). */
    private static final int MAX_RANK = 64;

    /**
     * Reads the array that starts at {@code in}'s position and leaves {@code in} after its data; the file has
     * {@code fileBytes}.
     *
     * @throws IOException when the bytes are not such an array, or the file ends before its data does.
     */
    static SavedArray read(final FSDataInputStream in, final long fileBytes) throws IOException
    {
        final long start = in.getPos();
        final Triple<DataBuffer.AllocationMode, Long, DataType> shapeHeader = header(in, start);
        final long length = shapeHeader.getMiddle();
        if (length < 4 || length > 2 * MAX_RANK + 4)
        {
            throw new IOException("the array at byte " + start + " has " + length + " shape fields; expected 2 x " +
                "rank + 4 with rank at most " + MAX_RANK);
        }
        final long[] info = new long[(int)length];
        for (int i = 0; i < info.length; i++)
        {
            info[i] = switch (shapeHeader.getRight())
            {
                case LONG -> in.readLong();
                case INT -> in.readInt();
                default -> throw new IOException("the array at byte " + start + " has its shape stored as " +
                    shapeHeader.getRight() + "; expected LONG or INT");
            };
        }
        final int rank = (int)info[0];
        if (info[0] < 0 || 2L * rank + 4 != length)
        {
            throw new IOException("the array at byte " + start + " has rank " + info[0] + " and " + length +
                " shape fields; expected 2 x rank + 4");
        }
        final long[] shape = Arrays.copyOfRange(info, 1, 1 + rank);
        final Triple<DataBuffer.AllocationMode, Long, DataType> dataHeader = header(in, start);
        final DataType stored = dataHeader.getRight();
        final long dataBytes;
        final long elements;
        if (stored == DataType.COMPRESSED)
        {
            in.readUTF(); // the compression algorithm
            dataBytes = in.readLong();
            in.readLong(); // original bytes
            elements = in.readLong();
            in.readInt(); // original type
        }
        else
        {
            elements = dataHeader.getMiddle();
            dataBytes = Math.multiplyExact(elements, bytesPerElement(stored, start));
        }
        final long shapeElements = Arrays.stream(shape).reduce(1, Math::multiplyExact);
        if (dataBytes < 0 || elements != shapeElements)
        {
            throw new IOException("the array at byte " + start + " has shape " + Arrays.toString(shape) + " (" +
                shapeElements + " elements) and " + elements + " stored elements");
        }
        final DataType type = dataType(info, stored);
        final long end = Math.addExact(in.getPos(), dataBytes);
        if (end > fileBytes)
        {
            throw new IOException("the file ends at byte " + fileBytes + ", within the array of shape " +
                Arrays.toString(shape) + " at byte " + start + " (its data ends at byte " + end + ")");
        }
        final boolean placeholder = rank == 1 && elements == 1 && stored != DataType.COMPRESSED &&
            value(in, stored) == -1;
        in.seek(end);
        return new SavedArray(shape, type, placeholder);
    }

    private static Triple<DataBuffer.AllocationMode, Long, DataType> header(final FSDataInputStream in,
        final long start) throws IOException
    {
        try
        {
            return BaseDataBuffer.readHeader(in);
        }
        catch (final RuntimeException ex)
        {
            // an unknown allocation mode or data type name, or the file ending (wrapped by readHeader)
            throw new IOException("no array header at byte " + start + " (" + ex + ")", ex);
        }
    }

    /** The type an array loaded by {@code Nd4j.read} reports: its shape's, else the stored data's. */
    private static DataType dataType(final long[] info, final DataType stored)
    {
        try
        {
            return ArrayOptionsHelper.dataType(info[info.length - 3]);
        }
        catch (final ND4JUnknownDataTypeException ex)
        {
            return stored;
        }
    }

    /** As {@code BaseDataBuffer.write} writes each type; it writes nothing for the others. */
    private static long bytesPerElement(final DataType type, final long start) throws IOException
    {
        return switch (type)
        {
            case DOUBLE, LONG, UINT64 -> 8;
            case FLOAT, INT, UINT32 -> 4;
            case HALF, BFLOAT16, SHORT, UINT16 -> 2;
            case BYTE, UBYTE, BOOL -> 1;
            default -> throw new IOException("the array at byte " + start + " stores " + type + " data, which " +
                "Nd4j.write does not write");
        };
    }

    /** The one element of an array as {@code getDouble(0)} of the loaded array gives it. */
    private static double value(final FSDataInputStream in, final DataType type) throws IOException
    {
        return switch (type)
        {
            case DOUBLE -> in.readDouble();
            case FLOAT -> in.readFloat();
            case HALF -> HalfIndexer.toFloat(in.readShort());
            case BFLOAT16 -> Bfloat16Indexer.toFloat(in.readShort());
            case LONG -> in.readLong();
            case INT -> in.readInt();
            case UINT32 -> Integer.toUnsignedLong(in.readInt());
            case SHORT -> in.readShort();
            case UINT16 -> in.readUnsignedShort();
            case BYTE -> in.readByte();
            case UBYTE, BOOL -> in.readUnsignedByte();
            default -> Double.NaN; // UINT64 (never -1); the data is not read, read() seeks past it
        };
    }
}
