package io.paratrain.sparktrainer.job;

import java.io.Serializable;

/**
 * A record the reader refused, carried to the driver as a value: a task that threw would be retried by Spark (up
 * to {@code spark.task.maxFailures} times) on data that cannot change. Either {@code where} names the record
 * completely (a Parquet file and row, a bundled line), or the record is a row of a text file's part (a Spark file
 * split), known by the byte at which the part starts and the row's index among the part's rows: the task cannot
 * know the row's line in the file, so the driver finds it ({@link LineLocator}).
 * <p>
 * A class, not a record: it travels in task results through the user's {@code spark.serializer}, and Kryo's
 * field serializer (Spark's default with Kryo) cannot create records.
 */
final class BadRecord implements Serializable
{
    private static final long serialVersionUID = 3L;

    /** "file row N" / "bundled name line N", or null when the row is known by its part and index. */
    private final String where;
    /** What was expected and what was found, as the task could say it. */
    private final String problem;
    /** The file (as Hadoop's Path prints it), when {@code where} is null. */
    private final String file;
    /** The byte at which the task's part of the file starts. */
    private final long partStart;
    /** The row's index among the rows the part gave (0-based). */
    private final long rowInPart;

    private BadRecord(final String where, final String problem, final String file, final long partStart,
        final long rowInPart)
    {
        this.where = where;
        this.problem = problem;
        this.file = file;
        this.partStart = partStart;
        this.rowInPart = rowInPart;
    }

    String where()
    {
        return where;
    }

    String problem()
    {
        return problem;
    }

    String file()
    {
        return file;
    }

    long partStart()
    {
        return partStart;
    }

    long rowInPart()
    {
        return rowInPart;
    }

    static BadRecord at(final String where, final String problem)
    {
        return new BadRecord(where, problem, null, -1, -1);
    }

    /** A line of a text file: line {@code rowInPart} (0-based) of the part that starts at byte {@code partStart}. */
    static BadRecord inPart(final String file, final long partStart, final long rowInPart, final String problem)
    {
        return new BadRecord(null, problem, file, partStart, rowInPart);
    }
}
