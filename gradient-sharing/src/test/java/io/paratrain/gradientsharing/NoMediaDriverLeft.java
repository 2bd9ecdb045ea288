package io.paratrain.gradientsharing;

import io.paratrain.gradientsharing.internal.SharedMediaDriver;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * {@code @ExtendWith(NoMediaDriverLeft.class)}: after each test, no media driver of this JVM is still open, as
 * every collective, rendezvous and lease must release its own. Shared with the other modules' tests through
 * gradient-sharing's test jar.
 */
public final class NoMediaDriverLeft implements AfterEachCallback
{
    @Override
    public void afterEach(final ExtensionContext context)
    {
        assertEquals(0, SharedMediaDriver.openCount(), "media drivers still open after " +
            context.getDisplayName());
    }
}
