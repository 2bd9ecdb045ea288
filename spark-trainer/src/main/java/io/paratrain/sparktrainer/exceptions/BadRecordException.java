package io.paratrain.sparktrainer.exceptions;

/**
 * One input record (a line, a row) cannot be trained on. {@link #where()} names the record (file and line, or
 * row), {@link #problem()} says what was expected and found; the message is {@code where: problem}.
 */
public class BadRecordException extends TrainingInputException
{
    private final String where;
    private final String problem;

    public BadRecordException(final String where, final String problem)
    {
        super(where + ": " + problem);
        this.where = where;
        this.problem = problem;
    }

    public String where()
    {
        return where;
    }

    public String problem()
    {
        return problem;
    }
}
