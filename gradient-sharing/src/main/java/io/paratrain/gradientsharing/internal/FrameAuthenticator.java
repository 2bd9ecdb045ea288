package io.paratrain.gradientsharing.internal;

import io.paratrain.gradientsharing.exceptions.CollectiveConfigException;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;

/**
 * HMAC-SHA256 over a frame's signed header bytes and its payload. One instance per link direction,
 * reused for every frame; the payload is staged through a reused array because {@link Mac} takes arrays.
 */
public final class FrameAuthenticator
{
    private final Mac mac;
    private final byte[] scratch;
    private final byte[] expected = new byte[FrameHeader.MAC_LENGTH];
    private final byte[] actual = new byte[FrameHeader.MAC_LENGTH];

    public FrameAuthenticator(final byte[] secret, final int maxFrameLength)
    {
        try
        {
            mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret, "HmacSHA256"));
        }
        catch (final GeneralSecurityException ex)
        {
            throw new CollectiveConfigException("HmacSHA256 is not available in this JVM: " + ex);
        }
        scratch = new byte[maxFrameLength];
    }

    /** Computes the MAC of the frame at {@code offset} and writes it into the frame's MAC field. */
    public void sign(final MutableDirectBuffer buffer, final int offset, final int payloadLength)
    {
        compute(buffer, offset, payloadLength, expected);
        buffer.putBytes(offset + FrameHeader.SIGNED_LENGTH, expected);
    }

    /** True when the frame's MAC field matches its content (constant-time comparison). */
    public boolean verify(final DirectBuffer buffer, final int offset, final int payloadLength)
    {
        compute(buffer, offset, payloadLength, expected);
        buffer.getBytes(offset + FrameHeader.SIGNED_LENGTH, actual);
        return MessageDigest.isEqual(expected, actual);
    }

    private void compute(final DirectBuffer buffer, final int offset, final int payloadLength, final byte[] out)
    {
        buffer.getBytes(offset, scratch, 0, FrameHeader.SIGNED_LENGTH);
        mac.update(scratch, 0, FrameHeader.SIGNED_LENGTH);
        buffer.getBytes(offset + FrameHeader.SIGNED_LENGTH + FrameHeader.MAC_LENGTH, scratch, 0, payloadLength);
        mac.update(scratch, 0, payloadLength);
        try
        {
            mac.doFinal(out, 0);
        }
        catch (final javax.crypto.ShortBufferException ex)
        {
            throw new IllegalStateException("MAC output buffer too small", ex);
        }
    }
}
