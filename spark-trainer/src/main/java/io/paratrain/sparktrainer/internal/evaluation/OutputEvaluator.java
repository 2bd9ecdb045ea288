package io.paratrain.sparktrainer.internal.evaluation;

import io.paratrain.sparktrainer.exceptions.TrainingInputException;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.BaseOutputLayer;
import org.nd4j.evaluation.IEvaluation;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.evaluation.classification.EvaluationBinary;
import org.nd4j.evaluation.regression.RegressionEvaluation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.lossfunctions.ILossFunction;
import org.nd4j.linalg.lossfunctions.impl.LossBinaryXENT;
import org.nd4j.linalg.lossfunctions.impl.LossL1;
import org.nd4j.linalg.lossfunctions.impl.LossL2;
import org.nd4j.linalg.lossfunctions.impl.LossMAPE;
import org.nd4j.linalg.lossfunctions.impl.LossMCXENT;
import org.nd4j.linalg.lossfunctions.impl.LossMSLE;
import org.nd4j.linalg.lossfunctions.impl.LossSparseMCXENT;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * How one output of a ComputationGraph is evaluated, chosen by its output layer's loss function: a classifier
 * (cross-entropy over a softmax: MCXENT or negative log-likelihood) by DL4J's {@link Evaluation}, a binary output
 * (XENT: each column its own yes/no, e.g. a sigmoid) by its {@link EvaluationBinary}, a regression (MSE, L2, L1, MAE,
 * MAPE or MSLE) by its {@link RegressionEvaluation}, with the layer's nOut as classes or columns. DL4J's graph picks
 * no evaluation by loss (its {@code evaluate(iterator)} is always an Evaluation, whose argmax over several
 * independent columns counts nothing XENT trains for), so a binary output gets EvaluationBinary at any width: per
 * column, a prediction above 0.5 is a yes; for one column that is Evaluation's own binary rule (threshold 0.5, class
 * 1 positive), column by column for more. Any other output is refused by name: DL4J's evaluations would count
 * something, but not what that loss trains for.
 * Serializable, so that each Spark task makes its own empty evaluation ({@link #empty}) from it.
 *
 * @param index  the output's position among the graph's outputs (its labels array).
 * @param output the output's name.
 * @param kind   classifier, binary or regression.
 * @param width  classes (classifier), yes/no columns (binary) or value columns (regression): the output layer's
 *               nOut.
 */
public record OutputEvaluator(int index, String output, Kind kind, int width) implements Serializable
{
    public enum Kind
    {
        CLASSIFIER, BINARY, REGRESSION
    }

    public OutputEvaluator
    {
        if (width < 1)
        {
            throw new IllegalArgumentException("width of output '" + output + "' must be >= 1, was " + width);
        }
    }

    /** One evaluator per output of the graph, in the graph's order; refuses the first output that has none. */
    public static List<OutputEvaluator> of(final ComputationGraphConfiguration conf)
    {
        final Optional<String> refusal = refusal(conf);
        if (refusal.isPresent())
        {
            throw new TrainingInputException(refusal.get());
        }
        final List<String> outputs = conf.getNetworkOutputs();
        final List<OutputEvaluator> evaluators = new ArrayList<>(outputs.size());
        for (int i = 0; i < outputs.size(); i++)
        {
            final BaseOutputLayer layer = outputLayer(conf, outputs.get(i));
            evaluators.add(new OutputEvaluator(i, outputs.get(i), kindOf(layer.getLossFn()), (int)layer.getNOut()));
        }
        return List.copyOf(evaluators);
    }

    /** Why an output of the graph cannot be evaluated (the first such output), or empty when all can. */
    public static Optional<String> refusal(final ComputationGraphConfiguration conf)
    {
        for (final String output : conf.getNetworkOutputs())
        {
            final GraphVertex vertex = conf.getVertices().get(output);
            final Object layer = vertex instanceof LayerVertex layerVertex ? layerVertex.getLayerConf().getLayer() :
                vertex;
            if (!(layer instanceof BaseOutputLayer outputLayer) || outputLayer.getNOut() < 1)
            {
                return Optional.of("output '" + output + "' cannot be evaluated: it is a " + simpleName(layer) +
                    ", expected an output layer with its nOut (OutputLayer, RnnOutputLayer or CenterLossOutputLayer)");
            }
            if (kindOf(outputLayer.getLossFn()) == null)
            {
                return Optional.of("output '" + output + "' cannot be evaluated: its loss " +
                    simpleName(outputLayer.getLossFn()) + " is not a classifier's (MCXENT or negative " +
                    "log-likelihood, one-hot labels), a binary output's (XENT, 0/1 labels per column) or a " +
                    "regression's (MSE, L2, L1, MAE, MAPE or MSLE)");
            }
        }
        return Optional.empty();
    }

    /** A new evaluation of this output that has seen nothing. */
    public IEvaluation<?> empty()
    {
        return switch (kind)
        {
            case CLASSIFIER -> new Evaluation(width);
            case BINARY -> new EvaluationBinary(width, null); // no ROC: counts at threshold 0.5 only
            case REGRESSION -> new RegressionEvaluation(width);
        };
    }

    /**
     * The evaluation of all {@code parts} (each this output's evaluation of some examples), as if one evaluation had
     * seen them all. DL4J's RegressionEvaluation.merge (1.0.0-M2) needs two repairs here: it weighs the running
     * means by example counts, so two parts that saw no examples (empty partitions) merge to 0/0 = NaN means, which
     * no later part undoes: such parts are left out; and it leaves out the sum of the labels that rSquared reads (it
     * adds only labelsSumPerColumn, the same sum kept twice), so that sum is added here.
     */
    public IEvaluation<?> merge(final List<IEvaluation<?>> parts)
    {
        if (kind == Kind.CLASSIFIER)
        {
            final Evaluation merged = new Evaluation(width);
            parts.forEach(part -> merged.merge((Evaluation)part));
            return merged;
        }
        if (kind == Kind.BINARY)
        {
            final EvaluationBinary merged = new EvaluationBinary(width, null);
            parts.forEach(part -> merged.merge((EvaluationBinary)part)); // sums of the four counts per column
            return merged;
        }
        RegressionEvaluation merged = null;
        INDArray sumLabels = null;
        for (final IEvaluation<?> part : parts)
        {
            final RegressionEvaluation regression = (RegressionEvaluation)part;
            if (regression.getExampleCountPerColumn() == null ||
                regression.getExampleCountPerColumn().sumNumber().doubleValue() == 0)
            {
                continue; // saw no examples (an empty partition, or every label masked)
            }
            if (merged == null)
            {
                sumLabels = regression.getSumLabels().dup();
                merged = regression;
            }
            else
            {
                sumLabels.addi(regression.getSumLabels());
                merged.merge(regression);
            }
        }
        if (merged == null)
        {
            return empty();
        }
        merged.getSumLabels().assign(sumLabels);
        return merged;
    }

    private static BaseOutputLayer outputLayer(final ComputationGraphConfiguration conf, final String output)
    {
        return (BaseOutputLayer)((LayerVertex)conf.getVertices().get(output)).getLayerConf().getLayer();
    }

    /** The kind the loss trains for, or null when neither. */
    private static Kind kindOf(final ILossFunction loss)
    {
        if (loss instanceof LossSparseMCXENT)
        {
            return null; // labels are class indices, which Evaluation does not read
        }
        if (loss instanceof LossMCXENT) // also LossNegativeLogLikelihood
        {
            return Kind.CLASSIFIER;
        }
        if (loss instanceof LossBinaryXENT)
        {
            return Kind.BINARY;
        }
        // LossMSE extends LossL2, LossMAE extends LossL1
        return loss instanceof LossL2 || loss instanceof LossL1 || loss instanceof LossMAPE ||
            loss instanceof LossMSLE ? Kind.REGRESSION : null;
    }

    private static String simpleName(final Object value)
    {
        return value == null ? "null" : value.getClass().getSimpleName();
    }
}
