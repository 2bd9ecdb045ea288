package io.paratrain.sparktrainer.ml;

import org.apache.spark.SparkConf;
import org.apache.spark.serializer.KryoSerializer;
import org.apache.spark.serializer.SerializerInstance;
import org.junit.jupiter.api.Test;
import scala.reflect.ClassTag$;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The row check's task result travels under any serializer a user configures. */
class RowCheckTest
{
    @Test
    void aPartitionsResultRoundTripsThroughKryoWithoutARegistrator()
    {
        final SerializerInstance kryo = new KryoSerializer(new SparkConf(false)).newInstance();
        final RowCheck.PartRows sent = new RowCheck.PartRows(13, 7, "the features vector is null");
        final RowCheck.PartRows received = kryo.deserialize(kryo.serialize(sent,
            ClassTag$.MODULE$.apply(RowCheck.PartRows.class)), ClassTag$.MODULE$.apply(RowCheck.PartRows.class));
        assertEquals(13, received.rows());
        assertEquals(7, received.badRow());
        assertEquals("the features vector is null", received.problem());
    }
}
