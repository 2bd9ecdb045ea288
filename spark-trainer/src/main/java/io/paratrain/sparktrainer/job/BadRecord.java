package io.paratrain.sparktrainer.job;

import java.io.Serializable;

/**
 * A record the reader refused, carried to the driver as a value: a task that threw would be retried by Spark (up
 * to {@code spark.task.maxFailures} times) on data that cannot change. Either {@code where} names the record
 * completely (file and line, file and row), or the record is a line of a text-file part that does not start the
 * file, whose line number the task cannot know: then {@code where} is null, {@code byteOffset} is where the line
 * starts in {@code file} and the driver finds its line number ({@link LineLocator}).
 *
 * @param where      "file line N" / "file row N", or null when only the byte offset is known.
 * @param problem    what was expected and what was found.
 * @param file       the file, when {@code where} is null.
 * @param splitStart the byte at which the task's part of the file starts, when {@code where} is null.
 * @param byteOffset the line's first byte in the file (in the compressed stream for a compressed file).
 * @param excerpt    the line's first characters, when {@code where} is null.
 */
record BadRecord(String where, String problem, String file, long splitStart, long byteOffset, String excerpt)
    implements Serializable
{
    private static final int EXCERPT_CHARS = 40;

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
