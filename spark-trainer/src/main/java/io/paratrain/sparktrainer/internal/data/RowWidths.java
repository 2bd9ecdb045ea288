package io.paratrain.sparktrainer.internal.data;

import io.paratrain.sparktrainer.exceptions.TrainerException;

/**
 * For {@link ExampleExchange}: floats per example of each part of an {@link ExampleLayout} (0 for an absent mask),
 * and where a part's rows lie in a chunk (all rows' features, then all rows' labels, then the masks; input by input,
 * output by output).
 */
final class RowWidths
{
    private final int[] widths;
    private final int[] before; // floats of the parts before, per example

    RowWidths(final long[] layout)
    {
        final long[] elements = ExampleLayout.exampleElements(layout);
        widths = new int[elements.length];
        before = new int[elements.length];
        long row = 0;
        for (int part = 0; part < elements.length; part++)
        {
            before[part] = (int)row;
            widths[part] = (int)elements[part];
            row += elements[part];
        }
        if (row > Integer.MAX_VALUE / Float.BYTES)
        {
            throw new TrainerException("one example has " + row + " floats, more than a chunk can hold");
        }
    }

    /** Parts of the layout, masks included. */
    int parts()
    {
        return widths.length;
    }

    int of(final int part)
    {
        return widths[part];
    }

    int rowFloats()
    {
        return before[widths.length - 1] + widths[widths.length - 1];
    }

    /** Offset of row {@code at}'s part {@code part} in a chunk of {@code rows} rows. */
    int inChunk(final int part, final int rows, final int at)
    {
        return rows * before[part] + at * widths[part];
    }
}
