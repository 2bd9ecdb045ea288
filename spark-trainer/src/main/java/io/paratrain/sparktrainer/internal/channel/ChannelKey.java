package io.paratrain.sparktrainer.internal.channel;

import io.paratrain.sparktrainer.exceptions.ChannelSecretException;
import org.apache.spark.SecurityManager;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkEnv;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * Whether a fit's gradient channel is HMAC-checked, and where its key comes from. The channel follows Spark's own
 * security: with {@code spark.authenticate=true} every barrier task derives the key from Spark's authentication
 * secret, which Spark itself delivers to each executor (Spark 3.5: generated per application in local mode, on YARN,
 * kept in the user's credentials, and on Kubernetes, passed to the executor pods in an environment variable; on
 * standalone {@code spark.authenticate.secret}, which the Worker passes to its executors in an environment variable;
 * or the secret files), and public values of the fit that travel in the task closure:
 * <pre>
 * key = HMAC-SHA256(sparkSecret, "paratrain gradient channel v1|" + appId + "|" + hex(sessionId) + "|" + hex(nonce))
 * </pre>
 * so the key itself never travels (not in the closure, not in job arguments), a retried stage attempt (its own
 * session id) and every fit (its own nonce) get a key of their own. With {@code spark.authenticate=false} the
 * channel is not HMAC-checked: anyone who can reach the cluster can then read task closures anyway, so a secret
 * sent in one would add nothing, and the MAC costs time (HMAC-SHA256 runs at 1.5-1.7 GB/s here; a rank of a
 * 2-worker 784-1000-500-10 fit MACs 10.3 MB a step, 6-7 ms of CPU). Session ids still drop stray frames of other fits.
 */
public final class ChannelKey implements Serializable
{
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(ChannelKey.class);
    static final String CONTEXT = "paratrain gradient channel v1";
    static final int NONCE_BYTES = 16;

    private final boolean authenticated;
    private final String appId;
    private final byte[] nonce;

    ChannelKey(final boolean authenticated, final String appId, final byte[] nonce)
    {
        this.authenticated = authenticated;
        this.appId = appId;
        this.nonce = nonce.clone();
    }

    /**
     * On the driver, once per fit: follows {@code spark.authenticate} of the application's configuration and
     * logs which of the two the fit uses.
     */
    public static ChannelKey forFit(final SparkConf conf, final String appId, final String fit)
    {
        final boolean authenticated = conf.getBoolean("spark.authenticate", false);
        final byte[] nonce = new byte[NONCE_BYTES];
        new SecureRandom().nextBytes(nonce);
        if (authenticated)
        {
            LOG.info("{}: gradient channel HMAC-SHA256-checked, key derived on each executor from Spark's " +
                "authentication secret (spark.authenticate=true)", fit);
        }
        else
        {
            LOG.info("{}: gradient channel not HMAC-checked (spark.authenticate=false); frames of other fits are " +
                "still dropped by session id", fit);
        }
        return new ChannelKey(authenticated, appId, nonce);
    }

    public boolean authenticated()
    {
        return authenticated;
    }

    /** The fit's public nonce (tests). */
    byte[] nonce()
    {
        return nonce.clone();
    }

    /**
     * In a task: the HMAC key of the ring with this session id, or null when the fit is not authenticated.
     *
     * @throws ChannelSecretException when the fit is authenticated but this executor has no Spark secret.
     */
    public byte[] derive(final long sessionId)
    {
        return authenticated ? derive(sparkSecret(), appId, sessionId, nonce) : null;
    }

    /** The derivation itself; {@code sparkSecret} must be non-empty. */
    public static byte[] derive(final String sparkSecret, final String appId, final long sessionId,
        final byte[] nonce)
    {
        if (sparkSecret == null || sparkSecret.isEmpty())
        {
            throw new ChannelSecretException("no Spark authentication secret to derive the gradient channel's key " +
                "from (got " + (sparkSecret == null ? "none" : "an empty one") + ")");
        }
        final String context = CONTEXT + "|" + appId + "|" + HexFormat.of().toHexDigits(sessionId) + "|" +
            HexFormat.of().formatHex(nonce);
        try
        {
            final Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(sparkSecret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
            return mac.doFinal(context.getBytes(StandardCharsets.UTF_8));
        }
        catch (final GeneralSecurityException ex)
        {
            throw new ChannelSecretException("HmacSHA256 is not available in this JVM", ex);
        }
    }

    /** This executor's Spark authentication secret, as Spark's own RPC uses it. */
    private static String sparkSecret()
    {
        final SparkEnv env = SparkEnv.get();
        if (env == null)
        {
            throw new ChannelSecretException("the fit runs with spark.authenticate=true but this JVM has no Spark " +
                "environment to take the authentication secret from");
        }
        final SecurityManager security = env.securityManager();
        if (!security.isAuthenticationEnabled())
        {
            throw new ChannelSecretException("the driver runs with spark.authenticate=true but executor " +
                env.executorId() + " has Spark authentication off: give the executors the same spark.authenticate");
        }
        final String secret;
        try
        {
            secret = security.getSecretKey();
        }
        catch (final IllegalArgumentException ex) // Spark's own "A secret key must be specified via ..."
        {
            throw new ChannelSecretException("spark.authenticate=true but executor " + env.executorId() +
                " has no Spark authentication secret: " + ex.getMessage(), ex);
        }
        if (secret == null || secret.isEmpty())
        {
            throw new ChannelSecretException("spark.authenticate=true but executor " + env.executorId() +
                " has no Spark authentication secret (set spark.authenticate.secret, or the secret files, as Spark " +
                "itself requires on this cluster manager)");
        }
        return secret;
    }
}
