package io.paratrain.sparktrainer;

import java.io.Serializable;

/**
 * What a fit's gradient channel saw, summed over every rank.
 *
 * @param authenticated        whether the channel was HMAC-checked (it follows {@code spark.authenticate}).
 * @param rejectedMacFrames    frames with this fit's session id whose HMAC did not verify: dropped, never used.
 * @param foreignSessionFrames frames with another session id (another fit or stage attempt, or a stray sender):
 *                             dropped, never used.
 */
public record ChannelReport(boolean authenticated, long rejectedMacFrames, long foreignSessionFrames)
    implements Serializable
{
    /** The counts of two fits added (e.g. one fit per epoch); authenticated only if both were. */
    public ChannelReport plus(final ChannelReport other)
    {
        return new ChannelReport(authenticated && other.authenticated, rejectedMacFrames + other.rejectedMacFrames,
            foreignSessionFrames + other.foreignSessionFrames);
    }

    /** One line for logs and the job's output. */
    public String describe()
    {
        return (authenticated ? "HMAC-checked" : "not HMAC-checked") + ", " + rejectedMacFrames +
            " frame(s) rejected (bad MAC), " + foreignSessionFrames + " dropped (foreign session)";
    }
}
