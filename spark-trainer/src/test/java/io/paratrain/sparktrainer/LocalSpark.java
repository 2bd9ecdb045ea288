package io.paratrain.sparktrainer;

import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;

/** Test fixture: one local Spark context per test class, with as many task slots as the largest ring tested. */
public final class LocalSpark
{
    private LocalSpark()
    {
    }

    public static JavaSparkContext start(final int slots)
    {
        final SparkConf conf = new SparkConf()
            .setMaster("local[" + slots + "]")
            .setAppName("paratrain-test")
            .set("spark.ui.enabled", "false")
            .set("spark.driver.host", "127.0.0.1")
            .set("spark.driver.bindAddress", "127.0.0.1")
            .set("spark.sql.shuffle.partitions", "4");
        return new JavaSparkContext(conf);
    }
}
