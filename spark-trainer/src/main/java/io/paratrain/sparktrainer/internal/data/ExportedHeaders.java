package io.paratrain.sparktrainer.internal.data;

import org.apache.hadoop.fs.FSDataInputStream;
import org.nd4j.linalg.api.buffer.DataType;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The {@link BatchShapes} of a file that DL4J 1.0.0-M2's {@code DataSet.save} or {@code MultiDataSet.save} wrote,
 * from the headers of its arrays ({@link SavedArray}) without their data: what the counting job of a fit needs,
 * without loading the examples that the training loads again.
 * <p>
 * {@code DataSet.save} writes a byte of flags (features, labels, labels the features, features mask, labels mask,
 * metadata present), then each present array; {@code MultiDataSet.save} the number of features, labels, features
 * masks and labels masks (ints), then the arrays in that order, an absent mask among present ones as the
 * placeholder [-1]. Trailing metadata is not read.
 */
final class ExportedHeaders
{
    private static final int FEATURES = 1;
    private static final int LABELS = 1 << 1;
    private static final int LABELS_SAME_AS_FEATURES = 1 << 2;
    private static final int FEATURES_MASK = 1 << 3;
    private static final int LABELS_MASK = 1 << 4;
    /** More arrays of one kind than any graph has inputs or outputs: the four counts are not a MultiDataSet's. */
    private static final int MAX_ARRAYS = 1 << 16;

    private ExportedHeaders()
    {
    }

    /**
     * The shapes of the DataSet in {@code in} (at its start), a file of {@code fileBytes}; features or labels
     * absent give null arrays, which the caller refuses.
     */
    static Parts dataSet(final FSDataInputStream in, final long fileBytes) throws IOException
    {
        final int flags = in.readByte();
        final SavedArray features = (flags & FEATURES) != 0 ? SavedArray.read(in, fileBytes) : null;
        final SavedArray labels = (flags & LABELS) != 0 ? SavedArray.read(in, fileBytes) :
            (flags & LABELS_SAME_AS_FEATURES) != 0 ? features : null;
        final SavedArray featuresMask = (flags & FEATURES_MASK) != 0 ? SavedArray.read(in, fileBytes) : null;
        final SavedArray labelsMask = (flags & LABELS_MASK) != 0 ? SavedArray.read(in, fileBytes) : null;
        return new Parts(new SavedArray[] {features}, new SavedArray[] {labels},
            new SavedArray[] {featuresMask}, new SavedArray[] {labelsMask});
    }

    /**
     * The shapes of the MultiDataSet in {@code in} (at its start), a file of {@code fileBytes}, placeholders as
     * absent masks (as {@code ExportedDataSets} treats them after a full load).
     */
    static Parts multiDataSet(final FSDataInputStream in, final long fileBytes) throws IOException
    {
        final int[] counts = new int[4];
        for (int i = 0; i < counts.length; i++)
        {
            counts[i] = in.readInt();
            if (counts[i] < 0 || counts[i] > MAX_ARRAYS)
            {
                throw new IOException("array count " + counts[i] + " at byte " + 4 * i + ", expected 0 to " +
                    MAX_ARRAYS + " (features, labels, features masks, labels masks)");
            }
        }
        final SavedArray[][] arrays = new SavedArray[4][];
        for (int kind = 0; kind < arrays.length; kind++)
        {
            arrays[kind] = new SavedArray[counts[kind]];
            for (int i = 0; i < counts[kind]; i++)
            {
                final SavedArray array = SavedArray.read(in, fileBytes);
                arrays[kind][i] = kind >= 2 && array.placeholder() ? null : array;
            }
        }
        return new Parts(arrays[0], arrays[1], arrays[2], arrays[3]);
    }

    /** The arrays of one file (a mask may be null; no masks is an empty or all-null array). */
    record Parts(SavedArray[] features, SavedArray[] labels, SavedArray[] featuresMasks, SavedArray[] labelsMasks)
    {
        /**
         * The {@link BatchShapes} of these arrays, as {@code BatchShapes.of} gives those of the loaded
         * MultiDataSet.
         *
         * @throws IOException when there are masks but not one per input or output, or features of rank 0.
         */
        long[] batchShape() throws IOException
        {
            final int inputs = features.length;
            final int outputs = labels.length;
            final SavedArray[] featuresMasks = masks(this.featuresMasks, inputs, "features");
            final SavedArray[] labelsMasks = masks(this.labelsMasks, outputs, "labels");
            final List<SavedArray> parts = new ArrayList<>(Arrays.asList(features));
            parts.addAll(Arrays.asList(labels));
            parts.addAll(Arrays.asList(featuresMasks));
            parts.addAll(Arrays.asList(labelsMasks));
            final long[][] shapes = new long[parts.size()][];
            final DataType[] types = new DataType[parts.size()];
            for (int part = 0; part < shapes.length; part++)
            {
                shapes[part] = parts.get(part) == null ? null : parts.get(part).shape();
                types[part] = parts.get(part) == null ? null : parts.get(part).type();
            }
            if (inputs > 0 && features[0].shape().length == 0)
            {
                throw new IOException("its first features array has rank 0; expected [examples, ...]");
            }
            final long examples = inputs == 0 ? 0 : features[0].shape()[0];
            return BatchShapes.of(examples, ExampleLayout.of(inputs, outputs, shapes, types));
        }

        /** Whether a features or labels array is absent (or none at all). */
        static boolean missing(final SavedArray[] arrays)
        {
            return arrays.length == 0 || Arrays.stream(arrays).anyMatch(a -> a == null);
        }

        private static SavedArray[] masks(final SavedArray[] masks, final int arrays, final String kind)
            throws IOException
        {
            if (Arrays.stream(masks).allMatch(m -> m == null))
            {
                return new SavedArray[arrays];
            }
            if (masks.length != arrays)
            {
                throw new IOException("it has " + masks.length + " " + kind + " masks for " + arrays + " " + kind +
                    " arrays; expected one per array");
            }
            return masks;
        }
    }
}
