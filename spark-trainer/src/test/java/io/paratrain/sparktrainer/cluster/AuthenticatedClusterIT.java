package io.paratrain.sparktrainer.cluster;

import io.aeron.Aeron;
import io.aeron.ExclusivePublication;
import io.aeron.Publication;
import io.paratrain.gradientsharing.internal.FrameAuthenticator;
import io.paratrain.gradientsharing.internal.FrameHeader;
import io.paratrain.gradientsharing.internal.OpKind;
import io.paratrain.sparktrainer.job.TrainJob;
import org.agrona.concurrent.UnsafeBuffer;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static io.paratrain.sparktrainer.cluster.ClusterRuns.CONF;
import static io.paratrain.sparktrainer.cluster.ClusterRuns.loopbackConf;
import static io.paratrain.sparktrainer.cluster.ClusterRuns.tail;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The gradient channel on a standalone cluster with {@code spark.authenticate=true} (Master, Worker and the
 * application share the secret, as Spark requires there): while the job trains, this test JVM, a foreign process
 * that knows the frame layout, sends well-formed frames to each rank's receiving end: some with another session id,
 * some with the fit's own session id (it is public: it names the media driver's folder) but no MAC, some signed
 * with a key of its own. Every one must be refused and counted, the counts must reach the driver's output and
 * metrics, and the model must be bit for bit the one the same run gives without the sender (local mode, which
 * {@link StandaloneClusterIT} shows equal to the cluster bit for bit).
 * <p>
 * On one host the ranks share a media driver and receive over {@code aeron:ipc}, so that is where the frames go:
 * the test attaches to the executors' media driver, as any process of the same user on the host could.
 */
@Tag("slow")
@EnabledIfSystemProperty(named = "paratrain.assemblyJar", matches = ".+")
class AuthenticatedClusterIT
{
    private static final int EXECUTORS = 2;
    private static final int FRAMES_PER_KIND = 20;
    private static final int PAYLOAD_BYTES = 1024;
    /** RingRendezvous's line when a rank has joined: where it receives, and whether frames are HMAC-checked. */
    private static final Pattern CONNECTED = Pattern.compile("Rank (\\d+) of (\\d+) connected: receives from (\\S+) " +
        "over (ipc|udp) \\((\\S+) stream (\\d+), media driver (\\S+)\\), sends to (\\S+) over \\w+(, HMAC-checked)?");

    /** Where one rank receives, read from its executor's log. */
    private record Receiver(int rank, int worldSize, String leftEndpoint, String transport, int streamId,
        Path driverDir, boolean hmacChecked)
    {
        long sessionId()
        {
            final String name = driverDir.getFileName().toString();
            return Long.parseUnsignedLong(name.substring(name.lastIndexOf('-') + 1), 16);
        }
    }

    @Test
    @Timeout(480)
    void foreignFramesAreRejectedAndCountedAndTheModelIsUnchanged() throws Exception
    {
        final String secret = HexFormat.of().formatHex(new SecureRandom().generateSeed(16));
        final List<String> authentication = List.of("-Dspark.authenticate=true",
            "-Dspark.authenticate.secret=" + secret);
        final Path jar = Path.of(System.getProperty("paratrain.assemblyJar"));
        try (StandaloneCluster cluster = StandaloneCluster.start(EXECUTORS, authentication))
        {
            final Path clusterModel = cluster.root().resolve("authenticated-model.zip");
            final Path metrics = cluster.root().resolve("authenticated-metrics.jsonl");
            // 5 epochs (315 steps, ~7 s of training here) leave the sender, which needs ~1.3 s, ample time
            final List<String> training = List.of("--epochs", "5", "--workers", "2", "--batch-size", "64",
                "--seed", "5");
            final List<String> args = new ArrayList<>(List.of("train"));
            args.addAll(training);
            args.addAll(List.of("--output", clusterModel.toString(), "--metrics", metrics.toString()));
            final Map<String, String> conf = loopbackConf(cluster);
            conf.put("spark.authenticate", "true");
            conf.put("spark.authenticate.secret", secret);
            final StandaloneCluster.Driver driver = cluster.startSubmit("authenticated",
                List.of("-Dlog4j2.configurationFile=" + CONF.resolve("log4j2-cluster.properties")),
                CONF.resolve("spark-defaults-standalone.conf"), conf, jar, TrainJob.class.getName(), args);

            final Map<Integer, Receiver> receivers = awaitReceivers(cluster, driver);
            final long sentAtNs = System.nanoTime();
            for (final Receiver receiver : receivers.values())
            {
                assertEquals("ipc", receiver.transport(), "ranks on one host share a media driver: " + receiver);
                assertTrue(receiver.hmacChecked(), "spark.authenticate=true but rank " + receiver.rank() +
                    " does not check MACs");
                // the rank's neighbour bound the executor's own address, never a wildcard
                assertTrue(receiver.leftEndpoint().startsWith(StandaloneCluster.HOST + ":"), receiver.toString());
                sendForeignFrames(receiver);
            }
            System.out.printf("foreign frames sent to %d ranks in %.0f ms%n", receivers.size(),
                (System.nanoTime() - sentAtNs) / 1e6);

            final StandaloneCluster.Submission run = driver.await(300_000);
            assertTrue(run.exited(), "the driver did not exit within 300 s:\n" + tail(run.output()));
            assertEquals(0, run.exitCode(), tail(run.output()));
            System.out.printf("authenticated cluster run with a foreign sender: %.1f s (driver JVM start to exit)%n",
                run.seconds());
            run.output().lines().filter(line -> line.startsWith("trained: ") || line.startsWith("gradient channel: "))
                .forEach(System.out::println);

            // every rank refused every frame: those of the fit's session for their MAC, the others for the session
            final long rejected = (long)receivers.size() * 2 * FRAMES_PER_KIND;
            final long foreign = (long)receivers.size() * FRAMES_PER_KIND;
            assertTrue(run.output().contains("gradient channel: HMAC-checked, " + rejected + " frame(s) rejected " +
                "(bad MAC), " + foreign + " dropped (foreign session)"), tail(run.output()));
            assertTrue(run.output().lines().anyMatch(line -> line.matches(".* WARN .*ChannelCounters: Data-parallel " +
                "fit: gradient channel HMAC-checked, " + rejected + " frame\\(s\\) rejected .*")), tail(run.output()));
            assertTrue(Files.readAllLines(metrics).contains("{\"type\":\"channel\",\"authenticated\":true," +
                "\"rejected_mac_frames\":" + rejected + ",\"foreign_session_frames\":" + foreign + "}"));
            final String executorLogs = String.join("\n", cluster.executorLogs().values());
            for (final int rank : receivers.keySet())
            {
                assertTrue(executorLogs.contains("Rank " + rank + ": the gradient channel refused " +
                    2 * FRAMES_PER_KIND + " frame(s) with a bad MAC and " + FRAMES_PER_KIND + " of a foreign " +
                    "session"), "rank " + rank + "'s executor log");
            }
            // the key was derived on the executors, so the secret never appears in a closure or an argument
            assertTrue(run.output().contains("gradient channel HMAC-SHA256-checked, key derived on each executor"),
                tail(run.output()));

            // the same run without sender (and without authentication) in local mode: the same model, bit for bit
            final Path localModel = StandaloneClusterIT.trainInLocalMode(cluster.root(), training,
                "unauthenticated-local-model.zip");
            assertArrayEquals(ModelSerializer.restoreMultiLayerNetwork(localModel.toFile()).params().toFloatVector(),
                ModelSerializer.restoreMultiLayerNetwork(clusterModel.toFile()).params().toFloatVector(),
                "the foreign sender changed what the cluster trained");
        }
    }

    /** Waits until every rank has logged where it receives (the ring is connected and training starts). */
    private static Map<Integer, Receiver> awaitReceivers(final StandaloneCluster cluster,
        final StandaloneCluster.Driver driver) throws Exception
    {
        final long deadlineNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(240);
        while (true)
        {
            final Map<Integer, Receiver> receivers = new TreeMap<>();
            for (final String log : cluster.executorLogs().values())
            {
                final Matcher m = CONNECTED.matcher(log);
                while (m.find())
                {
                    receivers.put(Integer.parseInt(m.group(1)), new Receiver(Integer.parseInt(m.group(1)),
                        Integer.parseInt(m.group(2)), m.group(3), m.group(4), Integer.parseInt(m.group(6)),
                        Path.of(m.group(7)), m.group(9) != null));
                }
            }
            if (receivers.size() == EXECUTORS)
            {
                return receivers;
            }
            assertTrue(driver.process().isAlive(), "the job ended before its ranks connected:\n" +
                tail(Files.readString(driver.log())));
            assertTrue(System.nanoTime() < deadlineNs, "the ranks did not connect within 240 s: " + receivers);
            Thread.sleep(50);
        }
    }

    /**
     * Frames in the exact layout the ring uses, claiming to come from the rank's left neighbour in an all-reduce
     * and carrying huge values: with another session id, with the fit's session id and a zeroed MAC, and with the
     * fit's session id signed by a key of the sender's own.
     */
    private static void sendForeignFrames(final Receiver receiver)
    {
        final int left = Math.floorMod(receiver.rank() - 1, receiver.worldSize());
        final int headerLength = FrameHeader.headerLength(true);
        final UnsafeBuffer frame = new UnsafeBuffer(new byte[headerLength + PAYLOAD_BYTES]);
        final byte[] ownKey = new SecureRandom().generateSeed(32);
        final FrameAuthenticator wrongKey = new FrameAuthenticator(ownKey, frame.capacity());
        try (Aeron aeron = Aeron.connect(new Aeron.Context().aeronDirectoryName(receiver.driverDir().toString()));
            ExclusivePublication publication = aeron.addExclusivePublication(
                "aeron:ipc?mtu=8192|term-length=1m", receiver.streamId()))
        {
            for (int i = 0; i < FRAMES_PER_KIND; i++)
            {
                for (int p = 0; p < PAYLOAD_BYTES; p += 4)
                {
                    frame.putFloat(headerLength + p, 1e9f);
                }
                FrameHeader.write(frame, 0, FrameHeader.TYPE_DATA, OpKind.ALL_REDUCE_SUM, receiver.sessionId() + 1,
                    i + 1, PAYLOAD_BYTES / 4, left, 0, PAYLOAD_BYTES);
                send(publication, frame);
                FrameHeader.write(frame, 0, FrameHeader.TYPE_DATA, OpKind.ALL_REDUCE_SUM, receiver.sessionId(),
                    i + 1, PAYLOAD_BYTES / 4, left, 0, PAYLOAD_BYTES);
                frame.setMemory(FrameHeader.SIGNED_LENGTH, FrameHeader.MAC_LENGTH, (byte)0);
                send(publication, frame);
                wrongKey.sign(frame, 0, PAYLOAD_BYTES);
                send(publication, frame);
            }
        }
    }

    private static void send(final ExclusivePublication publication, final UnsafeBuffer frame)
    {
        final long deadlineNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        long result;
        while ((result = publication.offer(frame, 0, frame.capacity())) < 0)
        {
            if (result == Publication.CLOSED || result == Publication.MAX_POSITION_EXCEEDED ||
                System.nanoTime() > deadlineNs)
            {
                throw new AssertionError("the foreign sender could not send to " + publication.channel() +
                    " stream " + publication.streamId() + ": " + result);
            }
            Thread.onSpinWait();
        }
    }
}
