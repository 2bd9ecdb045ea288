package io.paratrain.sparktrainer.internal;

import org.apache.spark.resource.ResourceInformation;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Map;
import java.util.Optional;

/**
 * Binds a replica to the GPU that Spark scheduled for its task (resource name {@code gpu}). On the CUDA backend
 * ND4J's current thread is moved to that device; on the CPU backend the address is logged and ignored.
 */
public final class ResourceBinding
{
    private static final Logger LOG = LoggerFactory.getLogger(ResourceBinding.class);
    public static final String GPU = "gpu";

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
        final Optional<String> address = gpuAddress(taskResources);
        if (address.isEmpty())
        {
            return;
        }
        final boolean cuda = Nd4j.getBackend().getClass().getName().toLowerCase().contains("cuda");
        if (!cuda)
        {
            LOG.info("Rank {}: Spark scheduled GPU {} for this task, but ND4J runs on the CPU backend " +
                "({}); the address is ignored. Build with -Pcuda to train on GPUs.", rank, address.get(),
                Nd4j.getBackend().getClass().getSimpleName());
            return;
        }
        final int device;
        try
        {
            device = Integer.parseInt(address.get().trim());
        }
        catch (final NumberFormatException ex)
        {
            throw new IllegalStateException("rank " + rank + ": GPU address '" + address.get() +
                "' from Spark is not a device number; check the discovery script", ex);
        }
        Nd4j.getAffinityManager().unsafeSetDevice(device);
        LOG.info("Rank {} bound to GPU {}", rank, device);
    }
}
