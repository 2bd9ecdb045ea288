package io.paratrain.gradientsharing.internal;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * Flyweight layout of the header at the start of every frame; written in place in Aeron's term buffer.
 * <pre>
 *  0 int   magic            'PTR1'
 *  4 byte  type             DATA, ABORT or WAITING
 *  5 byte  opKind           which collective operation the frame belongs to
 *  8 long  sessionId        per-job id; other ids are dropped
 * 16 long  opSeq            number of the operation on the sending rank (all ranks count alike)
 * 24 long  opParam          operation argument that every rank must agree on (e.g. element count)
 * 32 int   senderRank
 * 36 int   index            frame number within the operation
 * 40 int   payloadLength    bytes after the header (and MAC)
 * 48 byte[32] mac           HMAC-SHA256 of header bytes 0..47 and payload, only when authenticated
 * </pre>
 */
public final class FrameHeader
{
    public static final int MAGIC = 0x50545231;
    public static final byte TYPE_DATA = 1;
    public static final byte TYPE_ABORT = 2;
    /** "I am alive and have been waiting for rank opParam": sent by a rank stuck in an operation (no payload). */
    public static final byte TYPE_WAITING = 3;

    public static final int MAGIC_OFFSET = 0;
    public static final int TYPE_OFFSET = 4;
    public static final int OP_KIND_OFFSET = 5;
    public static final int SESSION_OFFSET = 8;
    public static final int OP_SEQ_OFFSET = 16;
    public static final int OP_PARAM_OFFSET = 24;
    public static final int SENDER_OFFSET = 32;
    public static final int INDEX_OFFSET = 36;
    public static final int PAYLOAD_LENGTH_OFFSET = 40;
    /** Bytes covered by the MAC before the payload; also the header length without a MAC. */
    public static final int SIGNED_LENGTH = 48;
    public static final int MAC_LENGTH = 32;

    private FrameHeader()
    {
    }

    public static int headerLength(final boolean authenticated)
    {
        return authenticated ? SIGNED_LENGTH + MAC_LENGTH : SIGNED_LENGTH;
    }

    public static void write(
        final MutableDirectBuffer buffer,
        final int offset,
        final byte type,
        final OpKind kind,
        final long sessionId,
        final long opSeq,
        final long opParam,
        final int senderRank,
        final int index,
        final int payloadLength)
    {
        buffer.putInt(offset + MAGIC_OFFSET, MAGIC);
        buffer.putByte(offset + TYPE_OFFSET, type);
        buffer.putByte(offset + OP_KIND_OFFSET, kind.code());
        buffer.putShort(offset + OP_KIND_OFFSET + 1, (short)0);
        buffer.putByte(offset + OP_KIND_OFFSET + 3, (byte)0);
        buffer.putLong(offset + SESSION_OFFSET, sessionId);
        buffer.putLong(offset + OP_SEQ_OFFSET, opSeq);
        buffer.putLong(offset + OP_PARAM_OFFSET, opParam);
        buffer.putInt(offset + SENDER_OFFSET, senderRank);
        buffer.putInt(offset + INDEX_OFFSET, index);
        buffer.putInt(offset + PAYLOAD_LENGTH_OFFSET, payloadLength);
        buffer.putInt(offset + PAYLOAD_LENGTH_OFFSET + 4, 0);
    }

    public static int magic(final DirectBuffer b, final int offset)
    {
        return b.getInt(offset + MAGIC_OFFSET);
    }

    public static byte type(final DirectBuffer b, final int offset)
    {
        return b.getByte(offset + TYPE_OFFSET);
    }

    public static byte opKind(final DirectBuffer b, final int offset)
    {
        return b.getByte(offset + OP_KIND_OFFSET);
    }

    public static long sessionId(final DirectBuffer b, final int offset)
    {
        return b.getLong(offset + SESSION_OFFSET);
    }

    public static long opSeq(final DirectBuffer b, final int offset)
    {
        return b.getLong(offset + OP_SEQ_OFFSET);
    }

    public static long opParam(final DirectBuffer b, final int offset)
    {
        return b.getLong(offset + OP_PARAM_OFFSET);
    }

    public static int senderRank(final DirectBuffer b, final int offset)
    {
        return b.getInt(offset + SENDER_OFFSET);
    }

    public static int index(final DirectBuffer b, final int offset)
    {
        return b.getInt(offset + INDEX_OFFSET);
    }

    public static int payloadLength(final DirectBuffer b, final int offset)
    {
        return b.getInt(offset + PAYLOAD_LENGTH_OFFSET);
    }
}
