package io.paratrain.sparktrainer.job;

import io.paratrain.sparktrainer.ChildJvm;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedWriter;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Figures, not a test of speed: how long the job takes to read and check its input against how long its 3-epoch
 * fit takes, on the bundled MNIST subset (8,000 + 2,000 rows) and on a 60,000-row MNIST-size CSV made of six
 * shifted copies of the bundled 10,000 digits. Each line is measured in a JVM of its own so that "cold" means what a
 * user's first run meets: one JVM runs the bundled data, the 60,000 rows, then the bundled data again (warm); a second
 * JVM first runs one trivial Spark job in a throwaway local context and then the bundled data, which separates the
 * JVM's first Spark job (Spark's scheduler, executor and RDD-scope classes, paid by whichever job runs first: the
 * input check here, the fit's counting job when the data come as an RDD) from the input's own cost. It prints one
 * {@code input ...} line per run, with the Spark jobs the preparation ran (their stages' task times, GC, bytes) and the
 * driver's time outside them; the machine is shared and noisy, so nothing here asserts a duration. Run with
 * {@code mvn -o -B -q -pl spark-trainer -am test -Dtest=InputPreparationFigures -Dtest.excludedGroups=none
 * -Dsurefire.failIfNoSpecifiedTests=false}.
 * <p>
 * Input preparation is the time from the job's {@code spark:} line (Spark up, slots there) to its {@code data:}
 * line (training and test data read and checked); the fit is from its {@code model:} line to its {@code trained:}
 * line (the trainer's counting, routing, ring set-up and 3 epochs). Both are taken from the times the lines reach
 * the output, so the same measurement applies to any version of the job.
 */
@Tag("slow")
@Timeout(1800)
class InputPreparationFigures
{
    private static final Pattern DATA = Pattern.compile("data: ([0-9,]+) training examples .*, ([0-9,]+) test " +
        "examples");

    /** Longest a measuring JVM may take (its three 3-epoch jobs take 1-3 minutes on a loaded 2-core machine). */
    private static final long CHILD_WAIT_MS = 20 * 60_000;

    @TempDir
    Path dir;

    @RegisterExtension
    final ChildJvm child = new ChildJvm();

    @Test
    void printsInputPreparationAgainstA3EpochFit() throws Exception
    {
        final List<String> lines = new ArrayList<>(BundledData.lines(BundledData.TRAIN));
        lines.addAll(BundledData.lines(BundledData.TEST));
        final Path train = dir.resolve("mnist60k.csv");
        try (BufferedWriter out = Files.newBufferedWriter(train, StandardCharsets.US_ASCII))
        {
            for (int copy = 0; copy < 6; copy++)
            {
                for (final String line : lines)
                {
                    out.write(shifted(line, copy % 3, copy / 3));
                    out.write('\n');
                }
            }
        }
        final Path test = dir.resolve("mnist-test.csv");
        Files.write(test, BundledData.lines(BundledData.TEST), StandardCharsets.US_ASCII);

        final List<String> figures = new ArrayList<>(measureInChild("cold", train, test));
        figures.addAll(measureInChild("spark-first", train, test));
        assertEquals(4, figures.size(), String.join("\n", figures));
        figures.forEach(System.out::println);
    }

    /** The figures a JVM of its own measures in {@code mode} ({@link #main}). */
    private List<String> measureInChild(final String mode, final Path train, final Path test) throws Exception
    {
        final Path log = dir.resolve(mode + ".log");
        final Process process = child.start(List.of("-Xmx4g"), InputPreparationFigures.class, List.of(mode,
            dir.toString(), train.toString(), test.toString()), log);
        assertTrue(process.waitFor(CHILD_WAIT_MS, TimeUnit.MILLISECONDS), "the " + mode + " JVM did not end within " +
            CHILD_WAIT_MS / 60_000 + " min; its output: " + log);
        final String output = Files.readString(log);
        assertEquals(0, process.exitValue(), output);
        final List<String> figures = new ArrayList<>();
        for (final String block : output.split("\n(?=\\S)"))
        {
            if (block.startsWith("input "))
            {
                figures.add(block.strip());
            }
        }
        return figures;
    }

    /**
     * In a JVM of its own: "cold" measures the bundled data, the 60,000 rows and the bundled data again; "spark-first"
     * runs one trivial Spark job in a throwaway local context, then measures the bundled data.
     */
    public static void main(final String[] args) throws Exception
    {
        final String mode = args[0];
        final Path dir = Path.of(args[1]);
        final List<String> figures = new ArrayList<>();
        if ("spark-first".equals(mode))
        {
            try (JavaSparkContext sc = new JavaSparkContext(new SparkConf().setMaster("local[2]")
                .setAppName("the JVM's first Spark job").set("spark.ui.enabled", "false")))
            {
                sc.parallelize(List.of(1, 2), 2).map(x -> x + 1).collect();
            }
            System.setProperty("spark.extraListeners", JobTimeline.class.getName());
            figures.add(measure(dir, "bundled-after-one-spark-job", "--epochs", "3"));
        }
        else
        {
            System.setProperty("spark.extraListeners", JobTimeline.class.getName());
            figures.add(measure(dir, "bundled", "--epochs", "3"));
            figures.add(measure(dir, "csv-60k", "--epochs", "3", "--train", args[2], "--test", args[3],
                "--feature-scale", Double.toString(1.0 / 255)));
            // The bundled data once more, in a JVM that has run the job: what the first run paid for a cold JVM.
            figures.add(measure(dir, "bundled-warm", "--epochs", "3"));
        }
        figures.forEach(System.out::println);
        System.out.flush();
        System.exit(0); // Spark may leave non-daemon threads behind
    }

    /** The digit moved right by {@code dx} and down by {@code dy} pixels (zeros shifted in). */
    private static String shifted(final String line, final int dx, final int dy)
    {
        final String[] f = line.split(",", -1);
        final StringBuilder out = new StringBuilder(f[0]);
        for (int y = 0; y < 28; y++)
        {
            for (int x = 0; x < 28; x++)
            {
                final int sy = y - dy;
                final int sx = x - dx;
                out.append(',').append(sy >= 0 && sx >= 0 ? f[1 + sy * 28 + sx] : "0");
            }
        }
        return out.toString();
    }

    private static String measure(final Path dir, final String name, final String... args)
    {
        final TimedLines out = new TimedLines();
        JobTimeline.JOBS.clear();
        final ByteArrayOutputStream err = new ByteArrayOutputStream();
        final List<String> all = new ArrayList<>(List.of(args));
        all.addAll(List.of("--output", dir.resolve(name + ".zip").toString(), "--metrics",
            dir.resolve(name + ".jsonl").toString()));
        final int code = TrainJob.run(all.toArray(String[]::new), new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(0, code, err.toString(StandardCharsets.UTF_8));
        final Matcher data = DATA.matcher(out.line("data: "));
        assertTrue(data.find(), out.line("data: "));
        final long rows = Long.parseLong(data.group(1).replace(",", "")) +
            Long.parseLong(data.group(2).replace(",", ""));
        final double prepSeconds = (out.atNs("data: ") - out.atNs("spark: ")) / 1e9;
        final double fitSeconds = (out.atNs("trained: ") - out.atNs("model: ")) / 1e9;
        return String.format(Locale.ROOT, "input %s: %,d rows read and checked in %.2f s (%,.0f rows/s); " +
            "3-epoch fit %.2f s; input preparation = %.1f%% of the fit", name, rows, prepSeconds,
            rows / prepSeconds, fitSeconds, 100 * prepSeconds / fitSeconds) + phases(out);
    }

    /**
     * Where the input preparation went: each Spark job started between the {@code spark:} and {@code data:} lines
     * (its action, when it started after the {@code spark:} line, how long it ran, its stages' task figures), and the
     * time the driver spent outside those jobs (reading bundled data, planning, the driver side of the check).
     */
    private static String phases(final TimedLines out)
    {
        final long fromMs = out.atMs("spark: ");
        final long toMs = out.atMs("data: ");
        final StringBuilder text = new StringBuilder();
        long inJobsMs = 0;
        long coveredUntilMs = fromMs;
        final List<JobTimeline.Job> jobs = new ArrayList<>(JobTimeline.JOBS);
        jobs.sort(java.util.Comparator.comparingLong(JobTimeline.Job::startMs));
        for (final JobTimeline.Job job : jobs)
        {
            if (job.startMs() < fromMs || job.startMs() > toMs)
            {
                continue;
            }
            text.append(String.format(Locale.ROOT, "%n  +%6.2f s job %d '%s': %.2f s", (job.startMs() - fromMs) / 1e3,
                job.id(), job.name(), (job.endMs() - job.startMs()) / 1e3));
            job.stages().forEach(stage -> text.append("\n      ").append(stage));
            inJobsMs += Math.max(0, job.endMs() - Math.max(job.startMs(), coveredUntilMs));
            coveredUntilMs = Math.max(coveredUntilMs, job.endMs());
        }
        text.append(String.format(Locale.ROOT, "%n  in Spark jobs %.2f s, on the driver outside them %.2f s",
            inJobsMs / 1e3, (toMs - fromMs - inJobsMs) / 1e3));
        return text.toString();
    }

    /** The job's output lines with the time each arrived. */
    private static final class TimedLines extends OutputStream
    {
        private final ByteArrayOutputStream current = new ByteArrayOutputStream();
        private final List<String> lines = new ArrayList<>();
        private final List<Long> arrivalsNs = new ArrayList<>();
        private final List<Long> arrivalsMs = new ArrayList<>();

        @Override
        public synchronized void write(final int b)
        {
            if (b == '\n')
            {
                lines.add(current.toString(StandardCharsets.UTF_8));
                arrivalsNs.add(System.nanoTime());
                arrivalsMs.add(System.currentTimeMillis()); // the clock of Spark's listener events
                current.reset();
            }
            else
            {
                current.write(b);
            }
        }

        synchronized String line(final String prefix)
        {
            return lines.get(index(prefix));
        }

        synchronized long atNs(final String prefix)
        {
            return arrivalsNs.get(index(prefix));
        }

        synchronized long atMs(final String prefix)
        {
            return arrivalsMs.get(index(prefix));
        }

        private int index(final String prefix)
        {
            for (int i = 0; i < lines.size(); i++)
            {
                if (lines.get(i).startsWith(prefix))
                {
                    return i;
                }
            }
            throw new AssertionError("no line starting '" + prefix + "' in the job's output: " + lines);
        }
    }
}
