package io.paratrain.sparktrainer.internal.stage;

import io.paratrain.sparktrainer.exceptions.InsufficientSlotsException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The wait for slots on a cluster, whose executors may still register: polled until enough or the deadline. */
@Timeout(30)
class BarrierSlotsWaitTest
{
    @Test
    void slotsThatNeverComeFailAfterTheWaitWithTheLastCount()
    {
        final AtomicInteger polls = new AtomicInteger();
        final InsufficientSlotsException error = assertThrows(InsufficientSlotsException.class,
            () -> BarrierSlots.awaitGrowth(() ->
            {
                polls.incrementAndGet();
                return 1;
            }, 3, 600, "the test fit", slots -> "has " + slots));
        assertEquals("has 1", error.getMessage());
        assertTrue(polls.get() >= 2, "polled again while waiting, " + polls.get() + " time(s)");
    }

    @Test
    void executorsThatRegisterWhileWaitingEndTheWait()
    {
        final AtomicInteger polls = new AtomicInteger();
        BarrierSlots.awaitGrowth(() -> polls.incrementAndGet() < 3 ? 1 : 3, 3, 20_000, "the test fit",
            slots -> "has " + slots);
        assertEquals(3, polls.get(), "returned on the poll that found 3 slots");
    }
}
