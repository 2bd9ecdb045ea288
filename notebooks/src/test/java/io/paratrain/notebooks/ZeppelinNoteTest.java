package io.paratrain.notebooks;

import io.paratrain.sparktrainer.ml.BundledFrames;
import io.paratrain.sparktrainer.ml.ParatrainClassifier;
import org.junit.jupiter.api.Test;
import org.nd4j.shade.jackson.databind.JsonNode;
import org.nd4j.shade.jackson.databind.ObjectMapper;

import java.lang.reflect.Method;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Zeppelin note cannot run here (no Zeppelin server); this checks that it is a well-formed note whose Scala
 * calls methods the API has, so it does not drift from the Estimator.
 */
class ZeppelinNoteTest
{
    private static final Path NOTE = Path.of(System.getProperty("paratrain.notebooks.dir"),
        "zeppelin", "paratrain-quick-start_2PARATRAINQS.zpln");

    @Test
    void isANoteOfMarkdownConfAndSparkParagraphs() throws Exception
    {
        final JsonNode note = new ObjectMapper().readTree(NOTE.toFile());
        assertEquals("spark", note.path("defaultInterpreterGroup").asText());
        final List<String> interpreters = new ArrayList<>();
        for (final JsonNode paragraph : note.path("paragraphs"))
        {
            assertTrue(paragraph.path("id").asText().startsWith("paragraph_"), paragraph.toString());
            assertEquals("READY", paragraph.path("status").asText());
            interpreters.add(paragraph.path("text").asText().split("\\s", 2)[0]);
        }
        assertEquals(List.of("%md", "%spark.conf", "%spark", "%spark", "%spark", "%spark"), interpreters);
    }

    @Test
    void callsOnlyMethodsTheEstimatorHas() throws Exception
    {
        final JsonNode note = new ObjectMapper().readTree(NOTE.toFile());
        final StringBuilder scala = new StringBuilder();
        note.path("paragraphs").forEach(p -> scala.append(p.path("text").asText()).append('\n'));
        final Matcher setters = Pattern.compile("\\.(set[A-Z]\\w*)\\(").matcher(scala);
        final List<String> names = Arrays.stream(ParatrainClassifier.class.getMethods()).map(Method::getName).toList();
        int checked = 0;
        while (setters.find())
        {
            if (scala.substring(Math.max(0, setters.start() - 40), setters.start()).contains("Evaluator"))
            {
                continue;
            }
            assertTrue(names.contains(setters.group(1)), "ParatrainClassifier has no " + setters.group(1));
            checked++;
        }
        assertTrue(checked >= 6, "setters checked: " + checked);
        assertTrue(scala.toString().contains("BundledFrames.mnistTrain(spark)"));
        BundledFrames.class.getMethod("mnistTrain", org.apache.spark.sql.SparkSession.class);
    }
}
