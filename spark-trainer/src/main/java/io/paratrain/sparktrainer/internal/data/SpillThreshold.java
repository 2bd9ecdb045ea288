package io.paratrain.sparktrainer.internal.data;

import io.paratrain.sparktrainer.TrainerConfig;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.BarrierTaskInfo;
import org.apache.spark.TaskContext;
import org.bytedeco.javacpp.Pointer;

/**
 * Above how many bytes of minibatches a replica spills them ({@link TrainerConfig#spillAboveBytes}).
 * <p>
 * Derived default: {@code offHeapLimit / 4 / replicasOnThisHost}. The minibatches are ND4J arrays, held off the
 * heap; {@code offHeapLimit} is the smaller of JavaCPP's {@link Pointer#maxBytes()}
 * ({@code -Dorg.bytedeco.javacpp.maxbytes}, which defaults to the executor's -Xmx) and what its limit on the whole
 * process's resident memory leaves beside the heap ({@code maxphysicalbytes} - Xmx; JavaCPP's default is a
 * multiple of maxbytes, 4x measured); unset limits count as -Xmx. The resident-memory limit is the one that
 * binds: ND4J's arrays do not count towards JavaCPP's {@code totalBytes} (measured: 0 while holding 900 MB of arrays), but an allocation fails once the
 * process's resident memory passes {@code maxphysicalbytes}. A quarter leaves the rest to what a replica
 * needs besides its data (the model, its gradients and optimizer state, activations, the ring's buffers) and to
 * arrays the garbage collector has not freed yet. The stage's replicas on this host are counted from the barrier
 * stage's task addresses: in local mode all of them share the JVM; on a cluster, replicas on the same host may be in
 * other executors, so the count is an upper bound and the threshold errs towards spilling.
 */
public final class SpillThreshold
{
    private static final int SHARE_DIVISOR = 4;

    private SpillThreshold()
    {
    }

    /** {@code configured}, or the derived default when it is {@link TrainerConfig#SPILL_DERIVED}. */
    public static long resolve(final long configured)
    {
        if (configured != TrainerConfig.SPILL_DERIVED)
        {
            return configured;
        }
        final long heap = Runtime.getRuntime().maxMemory();
        final long offHeap = Pointer.maxBytes() > 0 ? Pointer.maxBytes() : heap;
        final long besideHeap = Pointer.maxPhysicalBytes() > heap ? Pointer.maxPhysicalBytes() - heap : heap;
        return Math.min(offHeap, besideHeap) / SHARE_DIVISOR / replicasOnThisHost();
    }

    /** Tasks of this barrier stage with this task's address (1 outside a barrier stage). */
    private static int replicasOnThisHost()
    {
        if (!(TaskContext.get() instanceof BarrierTaskContext barrier))
        {
            return 1;
        }
        final BarrierTaskInfo[] tasks = barrier.getTaskInfos(); // sorted by partition id
        final String mine = tasks[barrier.partitionId()].address();
        int same = 0;
        for (final BarrierTaskInfo task : tasks)
        {
            same += task.address().equals(mine) ? 1 : 0;
        }
        return same;
    }
}
