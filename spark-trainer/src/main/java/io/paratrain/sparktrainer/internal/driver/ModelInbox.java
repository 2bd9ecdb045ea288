package io.paratrain.sparktrainer.internal.driver;

import io.paratrain.sparktrainer.internal.snapshot.ModelSnapshot;

/** Where the driver picks up rank 0's final model by the key its task reported: a socket, or the same JVM. */
public interface ModelInbox
{
    /** The model reported under {@code key}; a {@link io.paratrain.sparktrainer.exceptions.TrainerException} if none. */
    ModelSnapshot take(byte[] key);
}
