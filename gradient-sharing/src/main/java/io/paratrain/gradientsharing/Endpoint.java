package io.paratrain.gradientsharing;

import io.paratrain.gradientsharing.exceptions.CollectiveConfigException;

/**
 * Where one rank receives: its UDP {@code host:port}, plus the id of the media driver it uses so that
 * neighbours attached to the same driver can talk over {@code aeron:ipc} instead.
 * Text form: {@code host:port} or {@code host:port/driverId}.
 */
public record Endpoint(String host, int port, String driverId)
{
    public Endpoint
    {
        if (host == null || host.isBlank() || host.contains("/"))
        {
            throw new CollectiveConfigException("invalid endpoint host '" + host + "': expected a host name or address");
        }
        if (port < 1 || port > 65_535)
        {
            throw new CollectiveConfigException("invalid endpoint port " + port + " for host " + host +
                ": expected 1..65535");
        }
        driverId = driverId == null ? "" : driverId;
    }

    /** Parses {@code host:port} or {@code host:port/driverId}; IPv6 hosts are written in brackets. */
    public static Endpoint parse(final String text)
    {
        if (text == null)
        {
            throw new CollectiveConfigException("endpoint is null: expected host:port");
        }
        final int slash = text.indexOf('/');
        final String address = slash < 0 ? text : text.substring(0, slash);
        final String driverId = slash < 0 ? "" : text.substring(slash + 1);
        final int colon = address.lastIndexOf(':');
        if (colon <= 0 || colon == address.length() - 1)
        {
            throw new CollectiveConfigException("invalid endpoint '" + text + "': expected host:port[/driverId]");
        }
        final int port;
        try
        {
            port = Integer.parseInt(address.substring(colon + 1));
        }
        catch (final NumberFormatException ex)
        {
            throw new CollectiveConfigException("invalid endpoint '" + text + "': port is not a number");
        }
        return new Endpoint(address.substring(0, colon), port, driverId);
    }

    /** The {@code host:port} Aeron's UDP channels take. */
    public String address()
    {
        return host + ":" + port;
    }

    /** True when both ends are attached to the same media driver, so IPC can carry the link. */
    public boolean sharesDriverWith(final Endpoint other)
    {
        return !driverId.isEmpty() && driverId.equals(other.driverId);
    }

    @Override
    public String toString()
    {
        return driverId.isEmpty() ? address() : address() + "/" + driverId;
    }
}
