package io.paratrain.gradientsharing.internal;

/** The collective operation a frame belongs to; ranks calling different operations is an input error. */
public enum OpKind
{
    HANDSHAKE(1, "connect"),
    ALL_REDUCE_SUM(2, "allReduce(SUM)"),
    ALL_REDUCE_MEAN(3, "allReduce(MEAN)"),
    BROADCAST(4, "broadcast"),
    ALL_GATHER(5, "allGather"),
    BARRIER(6, "barrier"),
    REDUCE(7, "reduce"),
    GATHER(8, "gather"),
    REDUCE_SCATTER_SUM(9, "reduceScatter(SUM)"),
    REDUCE_SCATTER_MEAN(10, "reduceScatter(MEAN)"),
    ALL_GATHER_SEGMENTS(11, "allGatherSegments");

    private static final OpKind[] BY_CODE = new OpKind[16];

    static
    {
        for (final OpKind kind : values())
        {
            BY_CODE[kind.code] = kind;
        }
    }

    private final byte code;
    private final String displayName;

    OpKind(final int code, final String displayName)
    {
        this.code = (byte)code;
        this.displayName = displayName;
    }

    public byte code()
    {
        return code;
    }

    public String displayName()
    {
        return displayName;
    }

    /** The kind with that wire code, or null for an unknown code. */
    public static OpKind fromCode(final byte code)
    {
        return code >= 0 && code < BY_CODE.length ? BY_CODE[code] : null;
    }
}
