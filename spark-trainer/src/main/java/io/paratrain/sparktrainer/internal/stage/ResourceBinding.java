package io.paratrain.sparktrainer.internal.stage;

import io.paratrain.sparktrainer.exceptions.GpuNotScheduledException;
import org.apache.spark.SparkEnv;
import org.apache.spark.resource.ResourceInformation;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Map;
import java.util.Optional;

/**
 * Binds a replica to the GPU that Spark scheduled for its task (resource name {@code gpu}). On the CUDA backend
 * ND4J's current thread is moved to that device; on the CPU backend the address is logged and ignored.
 * On the CUDA backend a task without a GPU is refused ({@link GpuNotScheduledException}): ND4J would put it on
 * device 0, so every replica of a multi-GPU executor would share one GPU, silently. An operator who means that
 * (one small GPU per executor and tasks that fit on it together) sets {@value #ALLOW_SHARED_GPU} to true.
 */
public final class ResourceBinding
{
    private static final Logger LOG = LoggerFactory.getLogger(ResourceBinding.class);
    public static final String GPU = "gpu";
    /** Spark property: on the CUDA backend, let a task that Spark gave no GPU run on ND4J's default device. */
    public static final String ALLOW_SHARED_GPU = "spark.paratrain.gpu.allowShared";

    private ResourceBinding()
    {
    }

    /** The first GPU address Spark gave the task, if it gave one. */
    public static Optional<String> gpuAddress(final Map<String, ResourceInformation> taskResources)
    {
        final ResourceInformation gpu = taskResources == null ? null : taskResources.get(GPU);
        if (gpu == null || gpu.addresses().length == 0)
        {
            return Optional.empty();
        }
        return Optional.of(gpu.addresses()[0]);
    }

    public static void bind(final Map<String, ResourceInformation> taskResources, final int rank)
    {
        final boolean cuda = Nd4j.getBackend().getClass().getName().toLowerCase().contains("cuda");
        final SparkEnv env = SparkEnv.get();
        final boolean allowShared = env != null && env.conf().getBoolean(ALLOW_SHARED_GPU, false);
        device(taskResources, rank, cuda, allowShared).ifPresent(device ->
        {
            Nd4j.getAffinityManager().unsafeSetDevice(device);
            LOG.info("Rank {} bound to GPU {}", rank, device);
        });
    }

    /**
     * The device the replica of {@code rank} must bind to: none on the CPU backend (a scheduled address is logged
     * and ignored) or when sharing the default device is allowed; Spark's address on the CUDA backend.
     *
     * @throws GpuNotScheduledException on the CUDA backend when Spark gave the task no GPU and sharing is not
     *                                  allowed.
     */
    static Optional<Integer> device(final Map<String, ResourceInformation> taskResources, final int rank,
                                    final boolean cudaBackend, final boolean allowSharedGpu)
    {
        final Optional<String> address = gpuAddress(taskResources);
        if (!cudaBackend)
        {
            address.ifPresent(a -> LOG.info("Rank {}: Spark scheduled GPU {} for this task, but ND4J runs on the " +
                "CPU backend ({}); the address is ignored. Build with -Pcuda to train on GPUs.", rank, a,
                Nd4j.getBackend().getClass().getSimpleName()));
            return Optional.empty();
        }
        if (address.isEmpty())
        {
            if (allowSharedGpu)
            {
                LOG.warn("Rank {}: Spark scheduled no GPU for this task; it runs on ND4J's default device, " +
                    "shared with the executor's other tasks ({}=true)", rank, ALLOW_SHARED_GPU);
                return Optional.empty();
            }
            throw new GpuNotScheduledException("rank " + rank + ": ND4J runs on its CUDA backend but Spark " +
                "scheduled no GPU for this task, so it would share device 0 with every other replica of the " +
                "executor. Set spark.executor.resource.gpu.amount and spark.task.resource.gpu.amount (and a " +
                "discovery script: see conf/), or set " + ALLOW_SHARED_GPU + "=true to share the default device");
        }
        try
        {
            return Optional.of(Integer.parseInt(address.get().trim()));
        }
        catch (final NumberFormatException ex)
        {
            throw new GpuNotScheduledException("rank " + rank + ": GPU address '" + address.get() +
                "' from Spark is not a device number; check the discovery script");
        }
    }
}
