package io.paratrain.sparktrainer.serialization;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.Serializer;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import com.esotericsoftware.kryo.serializers.JavaSerializer;
import io.paratrain.sparktrainer.internal.snapshot.ModelSnapshot;
import org.apache.spark.serializer.KryoRegistrator;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * {@code spark.kryo.registrator=io.paratrain.sparktrainer.serialization.ParatrainKryoRegistrator}: lets Spark's
 * Kryo serializer carry the ND4J/DL4J types of a job's own data (DataSets that Spark serializes: parallelized,
 * cached in serialized form, shuffled by the job's code; model snapshots, evaluations). What a fit itself hands to
 * Spark needs no registrator: it is bytes already ({@link io.paratrain.sparktrainer.internal.snapshot.ShippedBytes}).
 * <p>
 * Kryo's default field-by-field serializer cannot copy an INDArray: its data lives off-heap behind JavaCPP
 * pointers. Arrays and DataSets are therefore written in ND4J's own binary format (shape, strides, data type and
 * the raw buffer), which round-trips every bit. Types holding records or deep DL4J object graphs fall back to Java
 * serialization, which they support; Kryo's field serializer cannot set a record's final fields on Java 17.
 */
public final class ParatrainKryoRegistrator implements KryoRegistrator
{
    @Override
    public void registerClasses(final Kryo kryo)
    {
        // A default serializer covers every INDArray implementation (CPU NDArray, CUDA JCublasNDArray, views).
        kryo.addDefaultSerializer(INDArray.class, new NdArraySerializer());
        kryo.register(DataSet.class, new DataSetSerializer());
        // Every record (ModelSnapshot, the model-split result, ...): Kryo 4's field serializer fails on them
        // ("can't get field offset on a record class"); a default serializer for Record covers all subclasses.
        kryo.addDefaultSerializer(Record.class, new JavaSerializer());
        kryo.register(ModelSnapshot.class, new JavaSerializer());
        kryo.register(Evaluation.class, new JavaSerializer());
        kryo.register(float[].class);
        kryo.register(long[].class);
    }

    /** An INDArray in ND4J's binary format, preceded by its length. */
    static final class NdArraySerializer extends Serializer<INDArray>
    {
        @Override
        public void write(final Kryo kryo, final Output output, final INDArray array)
        {
            final byte[] bytes;
            try
            {
                bytes = Nd4j.toByteArray(array);
            }
            catch (final IOException ex)
            {
                throw new UncheckedIOException("cannot write an INDArray of shape " +
                    java.util.Arrays.toString(array.shape()), ex);
            }
            output.writeInt(bytes.length, true);
            output.writeBytes(bytes);
        }

        @Override
        public INDArray read(final Kryo kryo, final Input input, final Class<INDArray> type)
        {
            return Nd4j.fromByteArray(input.readBytes(input.readInt(true)));
        }
    }

    /** A DataSet (features, labels and their masks) in ND4J's DataSet format, preceded by its length. */
    static final class DataSetSerializer extends Serializer<DataSet>
    {
        @Override
        public void write(final Kryo kryo, final Output output, final DataSet dataSet)
        {
            final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            dataSet.save(bytes);
            output.writeInt(bytes.size(), true);
            output.writeBytes(bytes.toByteArray());
        }

        @Override
        public DataSet read(final Kryo kryo, final Input input, final Class<DataSet> type)
        {
            final byte[] bytes = input.readBytes(input.readInt(true));
            final DataSet dataSet = new DataSet();
            dataSet.load(new ByteArrayInputStream(bytes));
            return dataSet;
        }
    }
}
