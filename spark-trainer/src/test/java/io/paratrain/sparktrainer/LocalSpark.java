package io.paratrain.sparktrainer;

import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.util.Map;

/**
 * Test fixture: one local Spark context per test class, with as many task slots as the largest ring tested.
 * {@code @RegisterExtension static final LocalSpark SPARK = new LocalSpark(3);} starts it before the class's
 * {@code @BeforeAll} methods and stops it after its {@code @AfterAll} methods. After every test, and after the
 * class, it checks that the fits left nothing behind: no media driver open in this JVM, no media driver folder this
 * JVM launched, no child process (every test class that runs a fit registers it).
 */
public final class LocalSpark implements BeforeAllCallback, AfterAllCallback, AfterEachCallback
{

    private final int slots;
    private JavaSparkContext sc;

    public LocalSpark(final int slots)
    {
        this.slots = slots;
    }

    /** The class's context, between its first {@code @BeforeAll} and its last {@code @AfterAll}. */
    public JavaSparkContext sc()
    {
        if (sc == null)
        {
            throw new IllegalStateException("the local Spark context runs only while the test class does");
        }
        return sc;
    }

    @Override
    public void beforeAll(final ExtensionContext context)
    {
        sc = start(slots);
    }

    @Override
    public void afterEach(final ExtensionContext context) throws InterruptedException
    {
        NothingLeftBehind.check(context.getDisplayName());
    }

    @Override
    public void afterAll(final ExtensionContext context) throws InterruptedException
    {
        sc.stop();
        sc = null;
        NothingLeftBehind.check(context.getDisplayName() + " (after stopping Spark)");
    }


    /** A context that the caller stops, for a test that needs one of its own. */
    public static JavaSparkContext start(final int slots)
    {
        return start(slots, Map.of());
    }

    /** As {@link #start(int)}, with {@code settings} added to the configuration (say, another serializer). */
    public static JavaSparkContext start(final int slots, final Map<String, String> settings)
    {
        final SparkConf conf = new SparkConf()
            .setMaster("local[" + slots + "]")
            .setAppName("paratrain-test")
            .set("spark.ui.enabled", "false")
            .set("spark.driver.host", "127.0.0.1")
            .set("spark.driver.bindAddress", "127.0.0.1")
            .set("spark.sql.shuffle.partitions", "4");
        settings.forEach(conf::set);
        return new JavaSparkContext(conf);
    }
}
