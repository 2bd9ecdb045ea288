package io.paratrain.sparktrainer.internal.stage;

import io.paratrain.sparktrainer.exceptions.GpuNotScheduledException;
import org.apache.spark.resource.ResourceInformation;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Which device a replica binds to, for each backend and each thing Spark may have scheduled. */
class ResourceBindingTest
{
    private static Map<String, ResourceInformation> gpu(final String address)
    {
        return Map.of("gpu", new ResourceInformation("gpu", new String[] {address}));
    }

    @Test
    void theCudaBackendBindsTheDeviceSparkScheduled()
    {
        assertEquals(Optional.of(3), ResourceBinding.device(gpu("3"), 1, true, false));
        assertEquals(Optional.of(3), ResourceBinding.device(gpu(" 3 "), 1, true, true));
    }

    @Test
    void theCudaBackendRefusesATaskWithoutAGpuUnlessSharingIsAllowed()
    {
        final GpuNotScheduledException noGpu = assertThrows(GpuNotScheduledException.class,
            () -> ResourceBinding.device(Map.of(), 2, true, false));
        assertTrue(noGpu.getMessage().startsWith("rank 2: ND4J runs on its CUDA backend but Spark scheduled no GPU"),
            noGpu.getMessage());
        assertTrue(noGpu.getMessage().contains("spark.task.resource.gpu.amount"), noGpu.getMessage());
        assertTrue(noGpu.getMessage().contains(ResourceBinding.ALLOW_SHARED_GPU + "=true"), noGpu.getMessage());
        assertThrows(GpuNotScheduledException.class, () -> ResourceBinding.device(null, 0, true, false));

        assertEquals(Optional.empty(), ResourceBinding.device(Map.of(), 2, true, true),
            "with sharing allowed the replica stays on ND4J's default device");
    }

    @Test
    void anAddressThatIsNotADeviceNumberNamesTheRankAndTheAddress()
    {
        final GpuNotScheduledException bad = assertThrows(GpuNotScheduledException.class,
            () -> ResourceBinding.device(gpu("GPU-7f3a"), 1, true, false));
        assertEquals("rank 1: GPU address 'GPU-7f3a' from Spark is not a device number; check the discovery script",
            bad.getMessage());
    }

    @Test
    void theCpuBackendBindsNothingWhateverSparkScheduled()
    {
        assertEquals(Optional.empty(), ResourceBinding.device(gpu("1"), 0, false, false));
        assertEquals(Optional.empty(), ResourceBinding.device(Map.of(), 0, false, false));
        assertEquals(Optional.empty(), ResourceBinding.device(null, 0, false, false));
    }
}
