package io.paratrain.gradientsharing.exceptions;

/**
 * The Aeron media driver this rank uses is gone: the process that ran it (another rank's JVM on this host) ended.
 * Nothing can move through the ring any more; the message names the operation, what it waited for, the driver's
 * folder and process.
 */
public class MediaDriverLostException extends TransportException
{
    public MediaDriverLostException(final String message)
    {
        super(message);
    }
}
