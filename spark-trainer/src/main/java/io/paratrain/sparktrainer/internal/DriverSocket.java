package io.paratrain.sparktrainer.internal;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;

/**
 * A socket of one fit on the driver that rank 0 connects to: bound to an ephemeral port of the driver's host,
 * served one connection at a time on a daemon thread until closed. The live progress and the final model each
 * use one.
 */
abstract class DriverSocket implements AutoCloseable
{
    private static final Logger LOG = LoggerFactory.getLogger(DriverSocket.class);

    private final ServerSocket server;
    private final String what;
    private final Thread acceptor;
    private volatile boolean closed;

    /** Binds; a subclass calls {@link #start} once its own fields are set. */
    DriverSocket(final String bindHost, final String what) throws IOException
    {
        this.server = new ServerSocket();
        this.server.bind(new InetSocketAddress(InetAddress.getByName(bindHost), 0));
        this.what = what;
        this.acceptor = new Thread(this::acceptLoop, "paratrain-" + what);
        this.acceptor.setDaemon(true);
    }

    /** Starts accepting connections. */
    final void start()
    {
        acceptor.start();
    }

    /** {@code host:port} for rank 0 to connect to. */
    public final String address()
    {
        return server.getInetAddress().getHostAddress() + ":" + server.getLocalPort();
    }

    /** Handles one connection; the socket is closed afterwards. */
    abstract void serve(Socket socket) throws IOException;

    private void acceptLoop()
    {
        while (!closed)
        {
            try (Socket socket = server.accept())
            {
                serve(socket);
            }
            catch (final IOException ex)
            {
                if (!closed)
                {
                    LOG.warn("A {} connection to {} failed: {}", what, address(), ex.toString());
                }
            }
        }
    }

    @Override
    public void close() throws InterruptedException
    {
        closed = true;
        try
        {
            server.close();
        }
        catch (final IOException ex)
        {
            LOG.warn("Closing the {} socket failed: {}", what, ex.toString());
        }
        acceptor.join(5_000);
    }
}
