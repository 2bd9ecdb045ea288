package io.paratrain.sparktrainer.ml;

/**
 * Hands a stage's uid to Spark's Scala constructors. Spark's shared params ({@code featuresCol}, ...) are created
 * in the superclass constructor and call {@code uid()} there, before a Java subclass can assign its field; the
 * uid waits here, on the constructing thread, until the subclass constructor takes it.
 */
final class PendingUid
{
    private static final ThreadLocal<String> PENDING = new ThreadLocal<>();

    /** A token that proves {@link #hold} ran before the superclass constructor. */
    static final class Token
    {
        private Token()
        {
        }

        String take()
        {
            final String uid = PENDING.get();
            PENDING.remove();
            return uid;
        }
    }

    private PendingUid()
    {
    }

    static Token hold(final String uid)
    {
        PENDING.set(uid);
        return new Token();
    }

    /** The uid being constructed on this thread. */
    static String current()
    {
        final String uid = PENDING.get();
        if (uid == null)
        {
            throw new IllegalStateException("uid() called during construction without a pending uid");
        }
        return uid;
    }
}
