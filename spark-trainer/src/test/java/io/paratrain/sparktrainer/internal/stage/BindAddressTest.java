package io.paratrain.sparktrainer.internal.stage;

import io.paratrain.gradientsharing.CollectiveConfig;
import io.paratrain.sparktrainer.LocalSpark;
import io.paratrain.sparktrainer.exceptions.TrainerConfigException;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.rdd.RDD;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import scala.Function1;
import scala.collection.JavaConverters;
import scala.reflect.ClassTag;
import scala.reflect.ClassTag$;

import java.io.Serializable;
import java.net.InetAddress;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The ring binds to the executor's own address, the one Spark uses, and never to a wildcard. */
class BindAddressTest
{
    @Test
    void theHostOfTheTasksAddressIsBound()
    {
        assertEquals("10.0.0.5", BarrierRing.bindHost("10.0.0.5:41234"));
        assertEquals("executor-3.cluster.local", BarrierRing.bindHost("executor-3.cluster.local:7079"));
        assertEquals("[fe80::1]", BarrierRing.bindHost("[fe80::1]:7079"));
    }

    @Test
    void aWildcardAddressIsRefused()
    {
        for (final String wildcard : List.of("0.0.0.0:7079", "[::]:7079", "[0:0:0:0:0:0:0:0]:7079", "0:7079"))
        {
            final TrainerConfigException ex = assertThrows(TrainerConfigException.class,
                () -> BarrierRing.bindHost(wildcard), wildcard);
            assertTrue(ex.getMessage().contains("is the wildcard"), ex.getMessage());
        }
        assertThrows(TrainerConfigException.class, () -> BarrierRing.bindHost(":7079"));
    }

    @Test
    void theCollectivesDefaultIsLoopbackNotAWildcard() throws Exception
    {
        assertFalse(InetAddress.getByName(CollectiveConfig.DEFAULT_BIND_HOST).isAnyLocalAddress());
        assertTrue(InetAddress.getByName(CollectiveConfig.DEFAULT_BIND_HOST).isLoopbackAddress());
    }

    /** What Spark hands a barrier task in local mode: the driver's address, never 0.0.0.0. */
    @Test
    @Timeout(120)
    void inABarrierStageTheRingBindsTheExecutorsAddress()
    {
        final JavaSparkContext sc = LocalSpark.start(2);
        try
        {
            final ClassTag<String> tag = ClassTag$.MODULE$.apply(String.class);
            final Function1<scala.collection.Iterator<Integer>, scala.collection.Iterator<String>> body =
                (Function1<scala.collection.Iterator<Integer>, scala.collection.Iterator<String>> & Serializable)
                    partition -> JavaConverters.asScalaIterator(List.of(taskBindHost()).iterator());
            final RDD<String> hostsRdd = sc.parallelize(List.of(0, 1), 2).rdd().barrier().mapPartitions(body, false,
                tag);
            final List<String> hosts = new JavaRDD<>(hostsRdd, tag).collect();
            assertEquals(List.of("127.0.0.1", "127.0.0.1"), hosts, "spark.driver.host of the test context");
        }
        finally
        {
            sc.stop();
        }
    }

    private static String taskBindHost()
    {
        final BarrierTaskContext context = BarrierTaskContext.get();
        return BarrierRing.bindHost(context.getTaskInfos()[context.partitionId()].address());
    }
}
