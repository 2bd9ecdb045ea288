package io.paratrain.sparktrainer.job;

import io.paratrain.sparktrainer.exceptions.TrainingInputException;

import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.zip.GZIPInputStream;

/** The MNIST subset shipped in the jar (see data/README.md beside the files). */
public final class BundledData
{
    public static final String TRAIN = "mnist-train.csv.gz";
    public static final String TEST = "mnist-test.csv.gz";
    private static final String FOLDER = "/io/paratrain/sparktrainer/data/";

    private BundledData()
    {
    }

    /** The lines of a bundled gzip CSV file. */
    public static List<String> lines(final String name)
    {
        return lines(compressed(name), name);
    }

    /** Refuses a bundled file that is not on the classpath (as {@link #compressed} would). */
    static void requirePresent(final String name)
    {
        if (BundledData.class.getResource(FOLDER + name) == null)
        {
            throw new TrainingInputException("bundled data " + name + " is missing from the classpath");
        }
    }

    /** The bytes of a bundled gzip CSV file, as stored. */
    static byte[] compressed(final String name)
    {
        try (InputStream raw = BundledData.class.getResourceAsStream(FOLDER + name))
        {
            if (raw == null)
            {
                throw new TrainingInputException("bundled data " + name + " is missing from the classpath");
            }
            return raw.readAllBytes();
        }
        catch (final IOException ex)
        {
            throw new TrainingInputException("cannot read bundled data " + name + ": " + ex.getMessage(), ex);
        }
    }

    /** The lines of {@link #compressed} bytes. */
    static List<String> lines(final byte[] compressed, final String name)
    {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(
            new GZIPInputStream(new ByteArrayInputStream(compressed)), StandardCharsets.US_ASCII)))
        {
            return in.lines().toList();
        }
        catch (final IOException ex)
        {
            throw new TrainingInputException("cannot read bundled data " + name + ": " + ex.getMessage(), ex);
        }
    }
}
