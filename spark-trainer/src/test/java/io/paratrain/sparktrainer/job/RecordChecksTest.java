package io.paratrain.sparktrainer.job;

import io.paratrain.sparktrainer.RawBits;
import io.paratrain.sparktrainer.exceptions.BadRecordException;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The byte parser of CSV lines gives exactly what the String parser gives: the same float bits, the same messages. */
class RecordChecksTest
{
    private static final RecordChecks CHECKS = new RecordChecks(3, 10, 1f);

    @Test
    void plainDecimalsAreTheFloatsParseFloatGivesBitForBit()
    {
        final Random random = new Random(15);
        for (int i = 0; i < 200_000; i++)
        {
            final StringBuilder text = new StringBuilder();
            text.append(random.nextInt(8) == 0 ? "-" : random.nextInt(16) == 0 ? "+" : "");
            final int whole = random.nextInt(8);
            for (int d = 0; d < whole; d++)
            {
                text.append((char)('0' + random.nextInt(10)));
            }
            final int decimals = random.nextInt(13);
            if (decimals > 0 || random.nextBoolean())
            {
                text.append('.');
            }
            for (int d = 0; d < decimals; d++)
            {
                text.append((char)('0' + random.nextInt(10)));
            }
            assertSameAsParseFloat(text.toString());
        }
        for (final String text : List.of("0", "-0", "-0.0", "255", "0.5", " 0.25 ", "\t7\t", "9999999", "10000000",
            "0.0000000001", "0.00000000001", "1.0000000", "16777217", "0.1", "3.4028235", ".5", "5.", "+.5"))
        {
            assertSameAsParseFloat(text);
        }
    }

    @Test
    void anythingButAPlainDecimalIsLeftToParseFloat()
    {
        for (final String text : List.of("", " ", ".", "-", "+", "1e5", "1E-3", "NaN", "Infinity", "0x1p3", "1.5f",
            "2d", "1.2.3", "1-2", "\"0.2\"", "abc", "--1", "1 2"))
        {
            final byte[] bytes = text.getBytes(StandardCharsets.US_ASCII);
            assertEquals(Float.NaN, RecordChecks.plainDecimal(bytes, 0, bytes.length), text);
        }
    }

    @Test
    void csvLinesFromBytesGiveTheValuesAndMessagesOfTheStringParser()
    {
        for (final String line : List.of("3,0.5,255,-1.25", " 3 , 1e-3 ,0x1p3, 2.5f", "1,0,0,0", "9,\u00a01,2,3",
            "2,1,2", "2,1,2,3,4", "1.5,1,2,3", "10,1,2,3", "1,NaN,2,3", "1,,2,3", "1,1e39,2,3", "x,1,2,3",
            "1,\u00e9,2,3"))
        {
            final float[] fromString = new float[3];
            final float[] fromBytes = new float[3];
            final byte[] bytes = line.getBytes(StandardCharsets.UTF_8);
            final String expected = outcome(() -> CHECKS.csvLine(line, "here", fromString, 0));
            assertEquals(expected, outcome(() -> CHECKS.csvLine(bytes, bytes.length, "here", fromBytes, 0)), line);
            assertArrayEquals(RawBits.of(fromString), RawBits.of(fromBytes), line);
        }
    }

    @Test
    void blankIsWhatStringIsBlankSays()
    {
        for (final String line : List.of("", " ", "\t \u000b\f", " x ", "\u2003", "\u2003a", "\u00a0"))
        {
            final byte[] bytes = line.getBytes(StandardCharsets.UTF_8);
            assertEquals(line.isBlank(), RecordChecks.blank(bytes, 0, bytes.length), line);
        }
    }

    private static void assertSameAsParseFloat(final String text)
    {
        final byte[] bytes = text.getBytes(StandardCharsets.US_ASCII);
        final float parsed = RecordChecks.plainDecimal(bytes, 0, bytes.length);
        if (!Float.isNaN(parsed))
        {
            assertEquals(Float.floatToRawIntBits(Float.parseFloat(text.trim())), Float.floatToRawIntBits(parsed),
                text);
        }
        else
        {
            // left to parseFloat: only numbers with more than 7 significant digits, more than 10 decimals or none
            final String digits = text.trim().replaceAll("[-+.]", "").replaceFirst("^0+", "");
            final int point = text.indexOf('.');
            final int decimals = point < 0 ? 0 : text.trim().length() - text.trim().indexOf('.') - 1;
            assertEquals(true, digits.length() > 7 || decimals > 10 || text.replaceAll("[^0-9]", "").isEmpty(),
                text);
        }
    }

    /** The label returned, or the refusal's message. */
    private static String outcome(final java.util.function.IntSupplier parse)
    {
        try
        {
            return "label " + parse.getAsInt();
        }
        catch (final BadRecordException ex)
        {
            return ex.getMessage();
        }
    }
}
