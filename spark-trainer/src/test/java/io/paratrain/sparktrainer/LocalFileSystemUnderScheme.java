package io.paratrain.sparktrainer;

import org.apache.hadoop.fs.RawLocalFileSystem;

import java.net.URI;

/**
 * Test support: the local file system under a scheme of its own, for test file systems that change one behaviour
 * (listing order, counting reads). Hadoop finds a subclass by its scheme in the test resources' META-INF/services
 * or by {@code fs.<scheme>.impl}, and creates it with its no-argument constructor.
 */
public abstract class LocalFileSystemUnderScheme extends RawLocalFileSystem
{
    private final String scheme;

    protected LocalFileSystemUnderScheme(final String scheme)
    {
        this.scheme = scheme;
    }

    @Override
    public final URI getUri()
    {
        return URI.create(scheme + ":///");
    }

    @Override
    public final String getScheme()
    {
        return scheme;
    }
}
