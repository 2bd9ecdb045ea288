package io.paratrain.sparktrainer.internal.channel;

import io.paratrain.sparktrainer.exceptions.ChannelSecretException;
import org.apache.spark.SparkConf;
import org.junit.jupiter.api.Test;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The derivation of the gradient channel's key from Spark's secret and a fit's public values. */
class ChannelKeyTest
{
    private static final byte[] NONCE = HexFormat.of().parseHex("000102030405060708090a0b0c0d0e0f");

    @Test
    void theKeyIsHmacSha256OfTheFitsPublicValuesUnderSparksSecret() throws Exception
    {
        final Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec("spark-secret".getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
        final byte[] expected = mac.doFinal(("paratrain gradient channel v1|app-20261125-0001|00000000000000ff|" +
            "000102030405060708090a0b0c0d0e0f").getBytes(StandardCharsets.UTF_8));

        final byte[] key = ChannelKey.derive("spark-secret", "app-20261125-0001", 0xff, NONCE);
        assertArrayEquals(expected, key);
        assertEquals(32, key.length);
        assertArrayEquals(key, ChannelKey.derive("spark-secret", "app-20261125-0001", 0xff, NONCE.clone()),
            "deterministic: every executor derives the same key");
    }

    @Test
    void everyInputChangesTheKey()
    {
        final byte[] otherNonce = NONCE.clone();
        otherNonce[15] ^= 1;
        final List<byte[]> keys = List.of(
            ChannelKey.derive("spark-secret", "app-1", 42, NONCE),
            ChannelKey.derive("spark-secreT", "app-1", 42, NONCE),   // another application's secret
            ChannelKey.derive("spark-secret", "app-2", 42, NONCE),   // another application
            ChannelKey.derive("spark-secret", "app-1", 43, NONCE),   // another session (fit or stage attempt)
            ChannelKey.derive("spark-secret", "app-1", 42 ^ (1L << 32), NONCE),
            ChannelKey.derive("spark-secret", "app-1", 42, otherNonce));  // another fit's nonce
        final Set<String> distinct = new HashSet<>();
        keys.forEach(key -> distinct.add(HexFormat.of().formatHex(key)));
        assertEquals(keys.size(), distinct.size(), "keys must all differ: " + distinct);
    }

    @Test
    void aMissingOrEmptySecretIsRefused()
    {
        final ChannelSecretException none = assertThrows(ChannelSecretException.class,
            () -> ChannelKey.derive(null, "app-1", 42, NONCE));
        assertEquals("no Spark authentication secret to derive the gradient channel's key from (got none)",
            none.getMessage());
        final ChannelSecretException empty = assertThrows(ChannelSecretException.class,
            () -> ChannelKey.derive("", "app-1", 42, NONCE));
        assertEquals("no Spark authentication secret to derive the gradient channel's key from (got an empty one)",
            empty.getMessage());
    }

    @Test
    void withoutSparkAuthenticationThereIsNoKeyAndNoSecretIsLookedUp()
    {
        final ChannelKey key = ChannelKey.forFit(new SparkConf(false), "app-1", "test fit");
        assertFalse(key.authenticated());
        assertNull(key.derive(42));
        assertTrue(ChannelKey.forFit(new SparkConf(false).set("spark.authenticate", "true"), "app-1", "test fit")
            .authenticated());
    }

    @Test
    void whatTravelsInTheClosureHoldsNoKeyMaterial() throws Exception
    {
        final ChannelKey key = ChannelKey.forFit(new SparkConf(false).set("spark.authenticate", "true")
            .set("spark.authenticate.secret", "the-secret-itself"), "app-1", "test fit");
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes))
        {
            out.writeObject(key);
        }
        final String serialized = bytes.toString(StandardCharsets.ISO_8859_1);
        assertFalse(serialized.contains("the-secret-itself"), "the Spark secret must not travel");
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray())))
        {
            assertTrue(((ChannelKey)in.readObject()).authenticated());
        }
    }

    @Test
    void fitsGetNoncesOfTheirOwn()
    {
        final SparkConf conf = new SparkConf(false).set("spark.authenticate", "true");
        final ChannelKey first = ChannelKey.forFit(conf, "app-1", "fit 1");
        final ChannelKey second = ChannelKey.forFit(conf, "app-1", "fit 2");
        assertFalse(java.util.Arrays.equals(first.nonce(), second.nonce()));
        assertEquals(ChannelKey.NONCE_BYTES, first.nonce().length);
    }
}
