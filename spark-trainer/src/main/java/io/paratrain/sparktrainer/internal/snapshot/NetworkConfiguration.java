package io.paratrain.sparktrainer.internal.snapshot;

import io.paratrain.sparktrainer.exceptions.TrainerException;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.NotSerializableException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.ObjectStreamClass;
import java.io.Serial;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * A network's configuration as it travels to the replicas: Java-serialized, or as DL4J JSON when some part of it
 * (a user's own layer, say) is not Java-serializable; of a {@link MultiLayerConfiguration} or a
 * {@link ComputationGraphConfiguration} ({@link #kind}).
 * <p>
 * Why not always JSON: DL4J's first {@code toJson()} in a JVM took 400 ms for a 3-layer MLP here and
 * {@code fromJson} 120 ms, against 68 ms and 10 ms for Java serialization; every fit pays the first on the driver
 * and the second in every task. JSON is still what goes into checkpoints and saved models ({@link #json()}).
 */
public final class NetworkConfiguration implements Serializable
{
    @Serial
    private static final long serialVersionUID = 1L;

    /*
     * The kind byte of the binary form: 0 and 1 are a MultiLayerConfiguration (the only kinds before graphs were
     * supported, so older snapshots still read), 2 and 3 a ComputationGraphConfiguration.
     */
    private static final int KIND_SERIALIZED = 0;
    private static final int KIND_JSON = 1;
    private static final int KIND_GRAPH_SERIALIZED = 2;
    private static final int KIND_GRAPH_JSON = 3;

    private final ModelKind model;
    /** Java serialization of the configuration object, or null when {@link #json} holds it instead. */
    private final byte[] serialized;
    private final String json;

    private NetworkConfiguration(final ModelKind model, final byte[] serialized, final String json)
    {
        this.model = model;
        this.serialized = serialized;
        this.json = json;
    }

    /** A copy of {@code configuration} as it is now (later changes to the object do not show). */
    public static NetworkConfiguration of(final MultiLayerConfiguration configuration)
    {
        return of(ModelKind.MULTI_LAYER, configuration, configuration::toJson);
    }

    /** A copy of a graph's {@code configuration} as it is now. */
    public static NetworkConfiguration of(final ComputationGraphConfiguration configuration)
    {
        return of(ModelKind.GRAPH, configuration, configuration::toJson);
    }

    private static NetworkConfiguration of(final ModelKind model, final Serializable configuration,
        final java.util.function.Supplier<String> toJson)
    {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream(8192);
        try (ObjectOutputStream out = new ObjectOutputStream(bytes))
        {
            out.writeObject(configuration);
        }
        catch (final NotSerializableException ex)
        {
            return new NetworkConfiguration(model, null, toJson.get());
        }
        catch (final IOException ex)
        {
            throw new TrainerException("cannot serialize the network configuration", ex);
        }
        return new NetworkConfiguration(model, bytes.toByteArray(), null);
    }

    /** A MultiLayerConfiguration's JSON. */
    public static NetworkConfiguration ofJson(final String json)
    {
        return ofJson(ModelKind.MULTI_LAYER, json);
    }

    public static NetworkConfiguration ofJson(final ModelKind model, final String json)
    {
        return new NetworkConfiguration(Objects.requireNonNull(model, "model"), null,
            Objects.requireNonNull(json, "json"));
    }

    /** Which model type this configures. */
    public ModelKind kind()
    {
        return model;
    }

    /** A new configuration object, equal to the one this was made of; for a MultiLayerNetwork only. */
    public MultiLayerConfiguration build()
    {
        expect(ModelKind.MULTI_LAYER);
        return serialized == null ? MultiLayerConfiguration.fromJson(json) :
            deserialize(MultiLayerConfiguration.class);
    }

    /** A new configuration object, equal to the one this was made of; for a ComputationGraph only. */
    public ComputationGraphConfiguration buildGraph()
    {
        expect(ModelKind.GRAPH);
        return serialized == null ? ComputationGraphConfiguration.fromJson(json) :
            deserialize(ComputationGraphConfiguration.class);
    }

    private void expect(final ModelKind wanted)
    {
        if (model != wanted)
        {
            throw new TrainerException("the configuration is of a " + model + " model, not of a " + wanted);
        }
    }

    private <T> T deserialize(final Class<T> type)
    {
        try (ObjectInputStream in = new ContextClassLoaderInput(new ByteArrayInputStream(serialized)))
        {
            return type.cast(in.readObject());
        }
        catch (final IOException | ClassNotFoundException | ClassCastException ex)
        {
            throw new TrainerException("cannot read the network configuration", ex);
        }
    }

    /** The configuration as DL4J JSON (computed when it travels Java-serialized). */
    public String json()
    {
        if (json != null)
        {
            return json;
        }
        return model == ModelKind.GRAPH ? buildGraph().toJson() : build().toJson();
    }

    /** False when the configuration travels as JSON (not Java-serializable). */
    boolean javaSerialized()
    {
        return serialized != null;
    }

    /** Bytes that {@link #writeTo} writes. */
    long encodedLength()
    {
        final int bytes = serialized != null ? serialized.length : json.getBytes(StandardCharsets.UTF_8).length;
        return 1 + Integer.BYTES + bytes;
    }

    /**
     * A kind byte (0: Java-serialized, 1: JSON in UTF-8; 2 and 3 the same for a graph), the length in bytes, the
     * bytes.
     */
    void writeTo(final DataOutputStream out) throws IOException
    {
        final byte[] bytes = serialized != null ? serialized : json.getBytes(StandardCharsets.UTF_8);
        final boolean graph = model == ModelKind.GRAPH;
        out.writeByte(serialized != null ? (graph ? KIND_GRAPH_SERIALIZED : KIND_SERIALIZED) :
            (graph ? KIND_GRAPH_JSON : KIND_JSON));
        out.writeInt(bytes.length);
        out.write(bytes);
    }

    /** Reads what {@link #writeTo} wrote, from a source of {@code totalBytes} bytes at most. */
    static NetworkConfiguration readFrom(final DataInputStream in, final int totalBytes) throws IOException
    {
        final int kind = in.readUnsignedByte();
        final int length = in.readInt();
        if (kind > KIND_GRAPH_JSON || length < 0 || length > totalBytes)
        {
            throw new IOException("not a network configuration (kind " + kind + ", " + length + " bytes)");
        }
        final byte[] bytes = new byte[length];
        in.readFully(bytes);
        final ModelKind model = kind >= KIND_GRAPH_SERIALIZED ? ModelKind.GRAPH : ModelKind.MULTI_LAYER;
        return kind == KIND_SERIALIZED || kind == KIND_GRAPH_SERIALIZED ? new NetworkConfiguration(model, bytes, null) :
            new NetworkConfiguration(model, null, new String(bytes, StandardCharsets.UTF_8));
    }

    /**
     * Resolves classes through the thread's context class loader first: on a Spark executor that is the loader
     * of the application's jars, where a user's own layer classes live.
     */
    static final class ContextClassLoaderInput extends ObjectInputStream
    {
        ContextClassLoaderInput(final InputStream in) throws IOException
        {
            super(in);
        }

        @Override
        protected Class<?> resolveClass(final ObjectStreamClass description) throws IOException,
            ClassNotFoundException
        {
            final ClassLoader loader = Thread.currentThread().getContextClassLoader();
            if (loader != null)
            {
                try
                {
                    return Class.forName(description.getName(), false, loader);
                }
                catch (final ClassNotFoundException ex)
                {
                    // fall through to the default lookup (primitive types, or classes of another loader)
                }
            }
            return super.resolveClass(description);
        }
    }
}
