package io.paratrain.sparktrainer.job;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.zip.GZIPOutputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Rows of a part found as Hadoop's LineRecordReader (under Spark's text reader) splits a file: lines end at LF,
 * CR LF or a lone CR, and a part that does not start the file begins with the first line that starts after its
 * first byte.
 */
class LineLocatorTest
{
    @TempDir
    java.nio.file.Path dir;

    @Test
    void countsLfCrLfAndLoneCrOnceEachAndFindsTheRowsOfAPart() throws Exception
    {
        final String text = "a\r\nb\rc\n\r\n\rd\n" + "x".repeat(70_000) + "\ne";
        final java.nio.file.Path file = dir.resolve("lines.csv");
        Files.writeString(file, text, StandardCharsets.US_ASCII);
        final FileSystem fs = FileSystem.getLocal(new Configuration()).getRawFileSystem();
        final Path path = new Path(file.toUri());
        // Lines: "a" (CR LF), "b" (CR), "c" (LF), "" (CR LF), "" (CR), "d" (LF), the x line (LF), "e".
        assertEquals(1, LineLocator.lineOf(fs, path, null, 0, 0));
        assertEquals(3, LineLocator.lineOf(fs, path, null, 0, 2));
        assertEquals(5, LineLocator.lineOf(fs, path, null, 0, 4), "blank lines are rows");
        assertEquals(8, LineLocator.lineOf(fs, path, null, 0, 7), "past the 64 KiB buffer, no line end at the end");
        // A part starting inside "a" begins at "b"; one starting at "b"'s first byte begins at "c" (Hadoop gives
        // a line starting exactly at a part's first byte to the part before); between CR and LF: the next line.
        assertEquals(2, LineLocator.lineOf(fs, path, null, 1, 0));
        assertEquals(3, LineLocator.lineOf(fs, path, null, text.indexOf('b'), 0));
        assertEquals(2, LineLocator.lineOf(fs, path, null, 2, 0));
        assertEquals(8, LineLocator.lineOf(fs, path, null, text.indexOf('d') + 5, 0));
        assertThrows(java.io.IOException.class, () -> LineLocator.lineOf(fs, path, null, 0, 8));
    }

    @Test
    void describesARowByItsLineInTheFile() throws Exception
    {
        final java.nio.file.Path file = dir.resolve("data.csv");
        Files.writeString(file, "1,0.5,0.5\n\n2,0.25,0.25\n   \n0,NaN,1e39\n", StandardCharsets.US_ASCII);
        final Configuration hadoop = new Configuration();
        final String name = new Path(file.toUri()).toString();
        assertEquals(name + " line 5: field 2 'NaN' is not a finite number", LineLocator.describe(
            BadRecord.inPart(name, 0, 4, "field 2 'NaN' is not a finite number"), hadoop));
        assertEquals("p.parquet row 9: the label is null", LineLocator.describe(
            BadRecord.at("p.parquet row 9", "the label is null"), hadoop));

        final java.nio.file.Path gz = dir.resolve("data.csv.gz");
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(gz)))
        {
            out.write(Files.readAllBytes(file));
        }
        final String gzName = new Path(gz.toUri()).toString();
        assertEquals(gzName + " line 4: bad", LineLocator.describe(BadRecord.inPart(gzName, 0, 3, "bad"), hadoop),
            "a gzip file, read from its start");
        // a splittable compressed file's later part: no line number without decompressing from its start
        assertEquals("file:/data/big.csv.bz2, row 3 of the part of this compressed file that starts at " +
            "compressed byte 900000 (its line number is not known): bad", LineLocator.describe(
            BadRecord.inPart("file:/data/big.csv.bz2", 900_000, 2, "bad"), hadoop));
    }
}
