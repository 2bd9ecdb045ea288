package io.paratrain.sparktrainer.internal.checkpoint;

import io.paratrain.sparktrainer.internal.data.ExamplePlan;
import io.paratrain.sparktrainer.internal.snapshot.ModelKind;
import io.paratrain.sparktrainer.internal.snapshot.ModelSnapshot;
import io.paratrain.sparktrainer.internal.snapshot.NetworkConfiguration;
import io.paratrain.sparktrainer.internal.snapshot.SnapshotCodec;

import io.paratrain.sparktrainer.exceptions.CheckpointException;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32C;

/**
 * Everything needed to continue a data-parallel fit exactly: the replicas' common state (parameters, updater state,
 * DL4J's iteration and epoch counters), where the data stands (the next epoch and step; the routing is a pure
 * function of the plan, so the position is enough), and each rank's ND4J random state (dropout and other random
 * layers draw from it).
 * <p>
 * Binary layout: magic, version, the fields, then a CRC32C of all preceding bytes, so a truncated or corrupt file
 * is recognised rather than half-loaded. Format 2 adds the model type (a byte: 0 MultiLayerNetwork, 1
 * ComputationGraph) before the configuration's JSON; format 1, written before graphs were supported, is read as a
 * MultiLayerNetwork.
 *
 * @param epoch       the epoch to continue in (== epochs when the fit is complete).
 * @param step        the next step within that epoch.
 * @param globalStep  steps done since the start of the fit.
 * @param plan        the plan the checkpoint belongs to; resuming needs the same one.
 * @param model       the replicas' state after {@code globalStep} steps.
 * @param randomState per rank: ND4J's root and node random state, 2 longs each.
 */
public record Checkpoint(int epoch, int step, long globalStep, ExamplePlan plan, ModelSnapshot model,
    long[] randomState)
{
    private static final int MAGIC = 0x50544350; // "PTCP"
    private static final int VERSION = 2;
    private static final int VERSION_MULTI_LAYER_ONLY = 1;
    /** Formats 1 and 2 store their float arrays big-endian. */
    private static final ByteOrder FLOAT_ORDER = ByteOrder.BIG_ENDIAN;

    public byte[] encode()
    {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream(64 + model.parameters().length * 8);
        try (DataOutputStream out = new DataOutputStream(bytes))
        {
            out.writeInt(MAGIC);
            out.writeInt(VERSION);
            out.writeInt(epoch);
            out.writeInt(step);
            out.writeLong(globalStep);
            out.writeLong(plan.totalExamples());
            out.writeInt(plan.workers());
            out.writeInt(plan.batchSizePerWorker());
            out.writeByte(model.configuration().kind() == ModelKind.GRAPH ? 1 : 0);
            final byte[] json = model.configuration().json().getBytes(StandardCharsets.UTF_8);
            out.writeInt(json.length);
            out.write(json);
            SnapshotCodec.writeFloats(model.parameters(), out, FLOAT_ORDER);
            SnapshotCodec.writeFloats(model.updaterState(), out, FLOAT_ORDER);
            out.writeInt(model.iterationCount());
            out.writeInt(model.epochCount());
            out.writeInt(randomState.length);
            for (final long state : randomState)
            {
                out.writeLong(state);
            }
            out.flush();
            final CRC32C crc = new CRC32C();
            crc.update(bytes.toByteArray());
            out.writeLong(crc.getValue());
        }
        catch (final IOException ex)
        {
            throw new CheckpointException("cannot encode the checkpoint of step " + globalStep, ex);
        }
        return bytes.toByteArray();
    }

    /** Decodes and verifies {@code bytes}; {@code source} names them in errors. */
    public static Checkpoint decode(final byte[] bytes, final String source)
    {
        if (bytes.length < 8 + 8)
        {
            throw new CheckpointException(source + ": " + bytes.length + " bytes, too short for a checkpoint");
        }
        final CRC32C crc = new CRC32C();
        crc.update(bytes, 0, bytes.length - 8);
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes)))
        {
            if (in.readInt() != MAGIC)
            {
                throw new CheckpointException(source + ": not a Paratrain checkpoint (bad magic number)");
            }
            final int version = in.readInt();
            if (version != VERSION && version != VERSION_MULTI_LAYER_ONLY)
            {
                throw new CheckpointException(source + ": checkpoint format " + version + ", expected " +
                    VERSION_MULTI_LAYER_ONLY + " or " + VERSION);
            }
            final long stored = java.nio.ByteBuffer.wrap(bytes, bytes.length - 8, 8).getLong();
            if (stored != crc.getValue())
            {
                throw new CheckpointException(source + ": checksum mismatch (truncated or corrupt)");
            }
            final int epoch = in.readInt();
            final int step = in.readInt();
            final long globalStep = in.readLong();
            final ExamplePlan plan = new ExamplePlan(in.readLong(), in.readInt(), in.readInt());
            final ModelKind kind = version == VERSION_MULTI_LAYER_ONLY ? ModelKind.MULTI_LAYER : modelKind(in.readByte(),
                source);
            final byte[] json = new byte[in.readInt()];
            in.readFully(json);
            final float[] parameters = SnapshotCodec.readFloats(in, bytes.length, FLOAT_ORDER);
            final float[] updaterState = SnapshotCodec.readFloats(in, bytes.length, FLOAT_ORDER);
            final ModelSnapshot model = new ModelSnapshot(
                NetworkConfiguration.ofJson(kind, new String(json, StandardCharsets.UTF_8)), parameters, updaterState,
                in.readInt(), in.readInt());
            final long[] random = new long[in.readInt()];
            for (int i = 0; i < random.length; i++)
            {
                random[i] = in.readLong();
            }
            return new Checkpoint(epoch, step, globalStep, plan, model, random);
        }
        catch (final IOException | RuntimeException ex)
        {
            if (ex instanceof CheckpointException checkpointException)
            {
                throw checkpointException;
            }
            throw new CheckpointException(source + ": unreadable checkpoint: " + ex, ex);
        }
    }

    private static ModelKind modelKind(final byte code, final String source)
    {
        return switch (code)
        {
            case 0 -> ModelKind.MULTI_LAYER;
            case 1 -> ModelKind.GRAPH;
            default -> throw new CheckpointException(source + ": unknown model type " + code +
                " (0 MultiLayerNetwork, 1 ComputationGraph)");
        };
    }
}
