package io.paratrain.sparktrainer.job;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Line ends counted as Hadoop's LineRecordReader ends lines: LF, CR LF, lone CR. */
class LineLocatorTest
{
    @TempDir
    java.nio.file.Path dir;

    @Test
    void countsLfCrLfAndLoneCrOnceEachAndFindsTheLineAtAByteOffset() throws Exception
    {
        final String text = "a\r\nb\rc\n\r\n\rd\n" + "x".repeat(70_000) + "\ne";
        final java.nio.file.Path file = dir.resolve("lines.csv");
        Files.writeString(file, text, StandardCharsets.US_ASCII);
        final Configuration hadoop = new Configuration();
        final FileSystem fs = FileSystem.getLocal(hadoop).getRawFileSystem();
        final Path path = new Path(file.toUri());
        // Lines: "a" (CR LF), "b" (CR), "c" (LF), "" (CR LF), "" (CR), "d" (LF), the x line (LF), "e".
        assertEquals(0, LineLocator.lineEndsBefore(fs, path, text.indexOf('a')));
        assertEquals(1, LineLocator.lineEndsBefore(fs, path, text.indexOf('b')));
        assertEquals(2, LineLocator.lineEndsBefore(fs, path, text.indexOf('c')));
        assertEquals(5, LineLocator.lineEndsBefore(fs, path, text.indexOf('d')));
        assertEquals(7, LineLocator.lineEndsBefore(fs, path, text.indexOf('e')), "past the 64 KiB buffer");
        assertEquals(file.toUri().toString().replace("file:///", "file:/") + " line 8: bad",
            LineLocator.describe(BadRecord.inPart(path.toString(), 4, text.indexOf('e'), "e", "bad"), hadoop));
        // a splittable compressed file: no line number without decompressing from its start, and the message says so
        assertEquals("file:/data/big.csv.bz2, the line starting 'e,1,2' in the part of this compressed file that " +
            "starts at compressed byte 900000 (its line number is not known): bad", LineLocator.describe(
            BadRecord.inPart("file:/data/big.csv.bz2", 900_000, 900_417, "e,1,2", "bad"), hadoop));
        // what a task says when it meets the record without the driver's check (no line lookup there)
        assertEquals("f.csv, the line at byte 70017 starting '" + "y".repeat(40) + "...': bad",
            BadRecord.inPart("f.csv", 65536, 70017, "y".repeat(50), "bad").withoutLineLookup());
    }
}
