package io.paratrain.sparktrainer.exceptions;

/**
 * The model or data cannot be trained as given (wrong feature count, labels out of range, malformed rows, empty
 * data, more workers than examples, unreadable model). Raised before any training step runs.
 */
public class TrainingInputException extends TrainerException
{
    public TrainingInputException(final String message)
    {
        super(message);
    }

    public TrainingInputException(final String message, final Throwable cause)
    {
        super(message, cause);
    }
}
