package io.paratrain.gradientsharing.internal;

/**
 * Where this rank stands in the ring operation it runs: the schedule, the operation's number (every rank counts
 * operations alike, so the number tells this operation's frames from the previous and the next one's), and the
 * next send and receive index. Shared by the parts of a {@link RingExchange}, on the exchange's one thread.
 */
final class OperationCursor
{
    private final int rank;
    private final int leftRank;
    private final int rightRank;
    private RingSchedule schedule;
    private long opSeq;
    private int sendIndex;
    private int receiveIndex;

    OperationCursor(final int rank, final int worldSize)
    {
        this.rank = rank;
        this.leftRank = Math.floorMod(rank - 1, worldSize);
        this.rightRank = Math.floorMod(rank + 1, worldSize);
    }

    /** Begins the next operation. */
    void start(final RingSchedule next)
    {
        schedule = next;
        opSeq++;
        sendIndex = 0;
        receiveIndex = 0;
    }

    /** The operation ended (done or failed); its number stays so that its late frames count as stale. */
    void finish()
    {
        schedule = null;
    }

    /** The operation in progress, or null between operations. */
    RingSchedule schedule()
    {
        return schedule;
    }

    long opSeq()
    {
        return opSeq;
    }

    int rank()
    {
        return rank;
    }

    /** The rank this rank receives from. */
    int leftRank()
    {
        return leftRank;
    }

    /** The rank this rank sends to. */
    int rightRank()
    {
        return rightRank;
    }

    int sendIndex()
    {
        return sendIndex;
    }

    int receiveIndex()
    {
        return receiveIndex;
    }

    void sent()
    {
        sendIndex++;
    }

    void received()
    {
        receiveIndex++;
    }

    /** Sends plus receives done so far; it changes exactly when the operation makes progress. */
    int progress()
    {
        return sendIndex + receiveIndex;
    }

    boolean done()
    {
        return sendIndex >= schedule.sendCount() && receiveIndex >= schedule.receiveCount();
    }

    /** True when the next send may go: there is one and the receive it depends on has been applied. */
    boolean sendReady()
    {
        return sendIndex < schedule.sendCount() && schedule.sendPrerequisite(sendIndex) < receiveIndex;
    }

    /** True while this rank waits for its left neighbour. */
    boolean awaitingReceive()
    {
        return receiveIndex < schedule.receiveCount() &&
            (sendIndex >= schedule.sendCount() || schedule.sendPrerequisite(sendIndex) >= receiveIndex);
    }

    /** The operation and this rank, as in "allReduce(SUM) on rank 0", for error messages. */
    String where()
    {
        return schedule.kind().displayName() + " on rank " + rank;
    }

    /** What this rank waits for, for error messages. */
    String waitingFor()
    {
        return awaitingReceive() ? "waiting for frame " + receiveIndex + " of " + schedule.receiveCount() +
            " from rank " + leftRank : "waiting to send frame " + sendIndex + " of " + schedule.sendCount() +
            " to rank " + rightRank;
    }
}
