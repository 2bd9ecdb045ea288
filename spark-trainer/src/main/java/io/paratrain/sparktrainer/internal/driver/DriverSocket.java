package io.paratrain.sparktrainer.internal.driver;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * A socket of one fit on the driver that rank 0 connects to: bound to an ephemeral port of the driver's host, each
 * connection served on a daemon thread of its own until closed. The live progress and the final model each use one.
 * Connections are served side by side because after a stage retry the failed attempt's rank 0 may still hold its
 * connection open (its task not yet ended) while the new attempt's rank 0 connects: served one after the other, the
 * new attempt's lines waited behind it, and the fit could end before they were read.
 */
abstract class DriverSocket implements AutoCloseable
{
    private static final Logger LOG = LoggerFactory.getLogger(DriverSocket.class);
    /** How long {@link #close} lets open connections finish (they normally have: rank 0 closed its end). */
    private static final long DRAIN_MS = 5_000;

    private final ServerSocket server;
    private final String what;
    private final Thread acceptor;
    private final List<Thread> handlers = new CopyOnWriteArrayList<>();
    private final List<Socket> open = new CopyOnWriteArrayList<>();
    /** Connections this side closed on purpose: their handlers' errors are expected. */
    private final Set<Socket> dropped = ConcurrentHashMap.newKeySet();
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

    /** Handles one connection, on a thread of its own; the socket is closed afterwards. */
    abstract void serve(Socket socket) throws IOException;

    private void acceptLoop()
    {
        while (!closed)
        {
            final Socket socket;
            try
            {
                socket = server.accept();
            }
            catch (final IOException ex)
            {
                if (!closed)
                {
                    LOG.warn("Accepting a {} connection on {} failed: {}", what, address(), ex.toString());
                }
                continue;
            }
            open.add(socket);
            final Thread handler = new Thread(() -> handle(socket), "paratrain-" + what + "-connection");
            handler.setDaemon(true);
            handlers.add(handler);
            handler.start();
        }
    }

    private void handle(final Socket socket)
    {
        try (socket)
        {
            serve(socket);
        }
        catch (final IOException ex)
        {
            if (!closed && !dropped.contains(socket))
            {
                LOG.warn("A {} connection to {} failed: {}", what, address(), ex.toString());
            }
        }
        finally
        {
            open.remove(socket);
            dropped.remove(socket);
        }
    }

    /** Closes a connection that is no longer wanted (its handler thread then ends). */
    final void drop(final Socket socket)
    {
        dropped.add(socket);
        try
        {
            socket.close();
        }
        catch (final IOException ex)
        {
            LOG.debug("Closing a {} connection: {}", what, ex.toString());
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
        acceptor.join(DRAIN_MS);
        final long deadlineNs = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(DRAIN_MS);
        for (final Thread handler : handlers)
        {
            handler.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadlineNs - System.nanoTime())));
        }
        if (!open.isEmpty())
        {
            LOG.debug("Closing {} {} connection(s) still open after {} ms", open.size(), what, DRAIN_MS);
            open.forEach(this::drop);
        }
        for (final Thread handler : handlers)
        {
            handler.join(1_000);
        }
    }
}
