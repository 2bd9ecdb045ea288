package io.paratrain.sparktrainer.job;

import java.io.Serializable;

/**
 * A record the reader refused, carried to the driver as a value: a task that threw would be retried by Spark (up
 * to {@code spark.task.maxFailures} times) on data that cannot change. Either {@code where} names the record
 * completely (file and line, file and row), or the record is a line of a text-file part that does not start the
 * file, whose line number the task cannot know: then {@code where} is null, {@code byteOffset} is where the line
 * starts in {@code file} and the driver finds its line number ({@link LineLocator}).
 * <p>
 * A class, not a record: it travels in task results through the user's {@code spark.serializer}, and Kryo's
 * field serializer (Spark's default with Kryo) cannot create records.
 */
final class BadRecord implements Serializable
{
    private static final long serialVersionUID = 1L;
    private static final int EXCERPT_CHARS = 40;

    /** "file line N" / "file row N", or null when only the byte offset is known. */
    private final String where;
    /** What was expected and what was found. */
    private final String problem;
    /** The file, when {@code where} is null. */
    private final String file;
    /** The byte at which the task's part of the file starts, when {@code where} is null. */
    private final long splitStart;
    /** The line's first byte in the file (in the compressed stream for a compressed file). */
    private final long byteOffset;
    /** The line's first characters, when {@code where} is null. */
    private final String excerpt;

    private BadRecord(final String where, final String problem, final String file, final long splitStart,
        final long byteOffset, final String excerpt)
    {
        this.where = where;
        this.problem = problem;
        this.file = file;
        this.splitStart = splitStart;
        this.byteOffset = byteOffset;
        this.excerpt = excerpt;
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

    long splitStart()
    {
        return splitStart;
    }

    long byteOffset()
    {
        return byteOffset;
    }

    String excerpt()
    {
        return excerpt;
    }

    /** Where and what, as a task can say it: a line of a later part by its byte offset and first characters. */
    String withoutLineLookup()
    {
        return where != null ? where + ": " + problem : file + ", the line at byte " + byteOffset + " starting '" +
            excerpt + "': " + problem;
    }

    static BadRecord at(final String where, final String problem)
    {
        return new BadRecord(where, problem, null, -1, -1, null);
    }

    static BadRecord inPart(final String file, final long splitStart, final long byteOffset, final String line,
        final String problem)
    {
        final String excerpt = line.length() <= EXCERPT_CHARS ? line : line.substring(0, EXCERPT_CHARS) + "...";
        return new BadRecord(null, problem, file, splitStart, byteOffset, excerpt);
    }
}
