package io.paratrain.sparktrainer.job;

import io.paratrain.sparktrainer.exceptions.TrainingInputException;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.nd4j.shade.jackson.core.JsonProcessingException;
import org.nd4j.shade.jackson.databind.JsonNode;
import org.nd4j.shade.jackson.databind.ObjectMapper;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A DL4J model configuration JSON, as {@code MultiLayerConfiguration.toJson()} or
 * {@code ComputationGraphConfiguration.toJson()} writes it. The kind is told by the top-level field each writes and
 * the other lacks ({@code confs}: the layer list; {@code vertices}: the graph), before DL4J parses it: each
 * {@code fromJson} fails on the other kind's JSON with a message about a missing or unknown property that would not
 * tell the user which kind the job expected.
 */
final class ModelJson
{
    static final String EXPECTED = "a DL4J MultiLayerConfiguration or ComputationGraphConfiguration JSON file " +
        "(what their toJson() writes)";

    private ModelJson()
    {
    }

    /** The network or graph {@code json} configures; {@code file} names it in errors. */
    static JobModel parse(final String file, final String json)
    {
        final JsonNode root;
        try
        {
            root = new ObjectMapper().readTree(json);
        }
        catch (final JsonProcessingException ex)
        {
            throw new TrainingInputException("--model " + file + " is not " + EXPECTED + ": it is not JSON: " +
                firstLine(ex), ex);
        }
        if (root != null && root.isObject() && root.has("confs"))
        {
            return new JobModel.Network(file, network(file, json));
        }
        if (root != null && root.isObject() && root.has("vertices"))
        {
            return new JobModel.Graph(file, graph(file, json));
        }
        throw new TrainingInputException("--model " + file + " is not " + EXPECTED + ": expected a JSON object " +
            "with a \"confs\" field (MultiLayerConfiguration) or a \"vertices\" field " +
            "(ComputationGraphConfiguration), found " + describe(root));
    }

    private static MultiLayerConfiguration network(final String file, final String json)
    {
        try
        {
            return MultiLayerConfiguration.fromJson(json);
        }
        catch (final RuntimeException ex)
        {
            throw new TrainingInputException("--model " + file + " has the \"confs\" of a MultiLayerConfiguration " +
                "JSON but DL4J cannot read it: " + firstLine(ex), ex);
        }
    }

    private static ComputationGraphConfiguration graph(final String file, final String json)
    {
        try
        {
            return ComputationGraphConfiguration.fromJson(json);
        }
        catch (final RuntimeException ex)
        {
            throw new TrainingInputException("--model " + file + " has the \"vertices\" of a " +
                "ComputationGraphConfiguration JSON but DL4J cannot read it: " + firstLine(ex), ex);
        }
    }

    private static String describe(final JsonNode root)
    {
        if (root == null || root.isMissingNode())
        {
            return "no JSON value";
        }
        if (!root.isObject())
        {
            return "a JSON " + root.getNodeType().name().toLowerCase(Locale.ROOT);
        }
        final List<String> fields = new ArrayList<>();
        root.fieldNames().forEachRemaining(fields::add);
        return "an object with the fields " + fields;
    }

    private static String firstLine(final Throwable ex)
    {
        final String message = String.valueOf(ex.getMessage());
        final int newline = message.indexOf('\n');
        return newline < 0 ? message : message.substring(0, newline);
    }
}
