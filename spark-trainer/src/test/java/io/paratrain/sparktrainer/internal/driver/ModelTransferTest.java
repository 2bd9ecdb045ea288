package io.paratrain.sparktrainer.internal.driver;

import io.paratrain.sparktrainer.internal.snapshot.ModelSnapshot;
import io.paratrain.sparktrainer.internal.snapshot.NetworkConfiguration;
import io.paratrain.sparktrainer.internal.snapshot.SnapshotCodec;

import io.paratrain.sparktrainer.exceptions.TrainerException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.HexFormat;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(60)
class ModelTransferTest
{
    private static final long SESSION = 0x5eed_0001L;

    private static ModelSnapshot model(final int parameters)
    {
        final float[] params = new float[parameters];
        final float[] state = new float[2 * parameters];
        for (int i = 0; i < parameters; i++)
        {
            params[i] = (float)Math.sin(i) * 1e-3f;
            state[i] = i * 1e-7f;
            state[parameters + i] = -i;
        }
        return new ModelSnapshot(NetworkConfiguration.ofJson("{\"confs\":[]}"), params, state, 41, 3);
    }

    @Test
    void modelArrivesOverTheSocketAndOnlyItsDigestTravelsInTheResult() throws Exception
    {
        final ModelSnapshot sent = model(300_001);
        try (ModelReceiver receiver = new ModelReceiver("127.0.0.1", SESSION, 10_000))
        {
            final ModelSender.Delivery delivery = ModelSender.send(sent, receiver.address(), SESSION, 10_000);
            assertNull(delivery.inline(), "the model went over the socket, not in the task result");
            assertArrayEquals(ModelSender.sha256(SnapshotCodec.encode(sent)), delivery.digest());
            final ModelSnapshot received = delivery.resolve(receiver);
            assertEquals(sent.configuration().json(), received.configuration().json());
            assertArrayEquals(sent.parameters(), received.parameters());
            assertArrayEquals(sent.updaterState(), received.updaterState());
            assertEquals(41, received.iterationCount());
            assertEquals(3, received.epochCount());
            // handed out once: a second take of the same digest finds nothing
            assertThrows(TrainerException.class, () -> receiver.take(delivery.digest()));
        }
    }

    @Test
    void unreachableDriverFallsBackToTheTaskResult() throws Exception
    {
        final String closedPort;
        try (ServerSocket probe = new ServerSocket(0))
        {
            closedPort = "127.0.0.1:" + probe.getLocalPort();
        }
        final ModelSnapshot sent = model(10);
        final ModelSender.Delivery delivery = ModelSender.send(sent, closedPort, SESSION, 2_000);
        assertSame(sent, delivery.inline());
        assertSame(sent, delivery.resolve(null));
    }

    @Test
    void receiverOfAnotherSessionRefusesAndTheModelFallsBackToTheTaskResult() throws Exception
    {
        try (ModelReceiver receiver = new ModelReceiver("127.0.0.1", SESSION + 1, 10_000))
        {
            final ModelSnapshot sent = model(10);
            final ModelSender.Delivery delivery = ModelSender.send(sent, receiver.address(), SESSION, 10_000);
            assertSame(sent, delivery.inline());
            // nothing was stored under the model's digest
            final byte[] digest = ModelSender.sha256(SnapshotCodec.encode(sent));
            final TrainerException missing = assertThrows(TrainerException.class, () -> receiver.take(digest));
            assertTrue(missing.getMessage().contains(HexFormat.of().formatHex(digest)), missing.getMessage());
        }
    }

    @Test
    void bytesThatDoNotMatchTheDigestTheyClaimAreNeverHandedOut() throws Exception
    {
        final ModelSnapshot genuine = model(100);
        final byte[] genuineBytes = SnapshotCodec.encode(genuine);
        final byte[] digest = ModelSender.sha256(genuineBytes);
        final byte[] forged = SnapshotCodec.encode(model(99));
        try (ModelReceiver receiver = new ModelReceiver("127.0.0.1", SESSION, 10_000))
        {
            final String[] hostPort = receiver.address().split(":");
            try (Socket socket = new Socket(hostPort[0], Integer.parseInt(hostPort[1])))
            {
                final DataOutputStream out = new DataOutputStream(socket.getOutputStream());
                new ModelSender.Header(SESSION, forged.length).write(out);
                out.write(forged);
                out.write(digest); // claims the genuine model's digest
                out.flush();
                assertEquals(-1, socket.getInputStream().read(), "no confirmation for a forged model");
            }
            assertThrows(TrainerException.class, () -> receiver.take(digest));
            // the genuine model with that digest is still accepted afterwards
            final ModelSender.Delivery delivery = ModelSender.send(genuine, receiver.address(), SESSION, 10_000);
            assertNull(delivery.inline());
            assertArrayEquals(genuine.parameters(), delivery.resolve(receiver).parameters());
        }
    }

    @Test
    void snapshotSurvivesJavaSerializationBitForBit() throws IOException
    {
        final float[] params = {Float.NaN, -0.0f, Float.MIN_VALUE, Float.MAX_VALUE, 1.5f};
        final ModelSnapshot sent = new ModelSnapshot(NetworkConfiguration.ofJson("{}"), params, null, 0, 0);
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes))
        {
            out.writeObject(sent);
        }
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray())))
        {
            final ModelSnapshot back = (ModelSnapshot)in.readObject();
            assertNotNull(back.parameters());
            for (int i = 0; i < params.length; i++)
            {
                assertEquals(Float.floatToRawIntBits(params[i]), Float.floatToRawIntBits(back.parameters()[i]));
            }
            assertNull(back.updaterState());
        }
        catch (final ClassNotFoundException ex)
        {
            throw new AssertionError(ex);
        }
    }
}
