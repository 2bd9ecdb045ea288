package io.paratrain.sparktrainer;

import io.paratrain.sparktrainer.internal.stage.ResourceBinding;
import org.apache.spark.SparkConf;
import org.apache.spark.resource.ResourceDiscoveryScriptPlugin;
import org.apache.spark.resource.ResourceID;
import org.apache.spark.resource.ResourceInformation;
import org.apache.spark.resource.ResourceRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The GPU lookup that binds each replica, fed by Spark's own discovery-script plugin running a fake script.
 * (local[N] cannot schedule task resources: a stage that asks for GPUs there waits forever; the scheduling
 * itself is exercised on the standalone cluster.)
 */
@Timeout(60)
class GpuResourceTest
{
    @TempDir
    Path dir;

    @Test
    void theAddressSparkDiscoveredIsTheOneTheReplicaBindsAndTheCpuBackendIgnoresIt() throws Exception
    {
        final Path script = dir.resolve("discover-gpus.sh");
        Files.writeString(script, "#!/bin/sh\necho '{\"name\": \"gpu\", \"addresses\": [\"0\", \"1\"]}'\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        final ResourceRequest request = new ResourceRequest(new ResourceID("spark.executor", "gpu"), 2,
            Optional.of(script.toString()), Optional.empty());
        final ResourceInformation discovered = new ResourceDiscoveryScriptPlugin()
            .discoverResource(request, new SparkConf()).orElseThrow();
        assertEquals("gpu", discovered.name());
        assertArrayEquals(new String[] {"0", "1"}, discovered.addresses());

        for (final String address : discovered.addresses())
        {
            // what Spark hands a task that asked for spark.task.resource.gpu.amount=1
            final Map<String, ResourceInformation> task =
                Map.of("gpu", new ResourceInformation("gpu", new String[] {address}));
            assertEquals(Optional.of(address), ResourceBinding.gpuAddress(task));
            ResourceBinding.bind(task, Integer.parseInt(address)); // CPU backend: logged and ignored, no error
        }
        assertTrue(ResourceBinding.gpuAddress(Map.of()).isEmpty(), "no gpu resource: nothing to bind");
        assertTrue(ResourceBinding.gpuAddress(null).isEmpty(), "outside a task: nothing to bind");
    }
}
