package io.paratrain.sparktrainer.internal.driver;

import io.paratrain.sparktrainer.internal.snapshot.ModelSnapshot;

import io.paratrain.sparktrainer.exceptions.TrainerException;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SameJvmHandoffTest
{
    private static final long SESSION = 0x5a3e_0001L;

    private static ModelSnapshot snapshot(final float value)
    {
        return new ModelSnapshot(null, new float[] {value, value}, null, 3, 1);
    }

    @Test
    void tasksFindTheInitialModelAndTheDriverTakesTheFinalOneByItsKey()
    {
        final ModelSnapshot initial = snapshot(1);
        final ModelSnapshot trained = snapshot(2);
        try (SameJvmHandoff handoff = SameJvmHandoff.open(SESSION, initial))
        {
            assertSame(initial, SameJvmHandoff.of(SESSION).initial());
            final ModelSender.Delivery delivery = SameJvmHandoff.of(SESSION).deliver(trained);
            assertSame(trained, delivery.resolve(handoff));
            final TrainerException taken = assertThrows(TrainerException.class, () -> delivery.resolve(handoff),
                "a model is handed out once");
            assertTrue(taken.getMessage().contains("no such model"), taken.getMessage());
            assertThrows(TrainerException.class, () -> handoff.take(new byte[16]), "an unknown key");
        }
    }

    @Test
    void aTaskOutsideTheFitsJvmOrAfterItsEndGetsAClearError()
    {
        final TrainerException never = assertThrows(TrainerException.class, () -> SameJvmHandoff.of(SESSION + 1));
        assertTrue(never.getMessage().contains("session " + Long.toHexString(SESSION + 1)), never.getMessage());
        SameJvmHandoff.open(SESSION + 2, snapshot(1)).close();
        assertThrows(TrainerException.class, () -> SameJvmHandoff.of(SESSION + 2), "closed with its fit");
    }

    @Test
    void oneSessionIsOpenAtMostOnce()
    {
        try (SameJvmHandoff ignored = SameJvmHandoff.open(SESSION + 3, snapshot(1)))
        {
            assertThrows(IllegalStateException.class, () -> SameJvmHandoff.open(SESSION + 3, snapshot(2)));
        }
        SameJvmHandoff.open(SESSION + 3, snapshot(2)).close(); // free again once closed
    }
}
