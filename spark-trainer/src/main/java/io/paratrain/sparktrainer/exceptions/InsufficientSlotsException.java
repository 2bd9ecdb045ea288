package io.paratrain.sparktrainer.exceptions;

/** The cluster cannot run all tasks of the training barrier stage at once, so the stage would never start. */
public class InsufficientSlotsException extends TrainerException
{
    public InsufficientSlotsException(final String message)
    {
        super(message);
    }
}
