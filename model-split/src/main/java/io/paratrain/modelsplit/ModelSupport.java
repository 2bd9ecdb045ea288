package io.paratrain.modelsplit;

import io.paratrain.modelsplit.exceptions.SplitConfigException;
import io.paratrain.modelsplit.exceptions.UnsupportedModelException;
import org.deeplearning4j.nn.conf.BackpropType;
import org.deeplearning4j.nn.conf.GradientNormalization;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.BaseOutputLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.learning.config.AMSGrad;
import org.nd4j.linalg.learning.config.AdaDelta;
import org.nd4j.linalg.learning.config.AdaGrad;
import org.nd4j.linalg.learning.config.AdaMax;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.Nadam;
import org.nd4j.linalg.learning.config.Nesterovs;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.learning.config.RmsProp;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.learning.regularization.L1Regularization;
import org.nd4j.linalg.learning.regularization.L2Regularization;
import org.nd4j.linalg.learning.regularization.Regularization;
import org.nd4j.linalg.learning.regularization.WeightDecay;

import java.util.List;
import java.util.Set;

/**
 * What split training reproduces exactly: an MLP of {@link DenseLayer}s ending in an {@link OutputLayer}, standard
 * backprop, element-wise updaters and regularization (so a slice can be updated on its own), no dropout, weight
 * noise, constraints, gradient normalization (per-layer norms would need every shard), layer norm or
 * preprocessors. A split dense layer needs an element-wise activation; a split output layer may use any, since its
 * loss sees the gathered row Z.
 */
public final class ModelSupport
{
    private static final Set<Class<? extends IUpdater>> ELEMENT_WISE_UPDATERS = Set.of(Sgd.class, Adam.class,
        AdaMax.class, Nadam.class, AMSGrad.class, Nesterovs.class, RmsProp.class, AdaGrad.class, AdaDelta.class,
        NoOp.class);
    private static final Set<Class<? extends Regularization>> ELEMENT_WISE_REGULARIZATION = Set.of(
        L1Regularization.class, L2Regularization.class, WeightDecay.class);

    /** The parameters of a dense or output layer, in DL4J's flat order. */
    public static final List<String> PARAMS = List.of("W", "b");

    private ModelSupport()
    {
    }

    /** Whether an updater works element by element, so that any slice of a parameter can be updated on its own. */
    public static boolean isElementWise(final IUpdater updater)
    {
        return updater != null && ELEMENT_WISE_UPDATERS.contains(updater.getClass());
    }

    /** Whether a regularization works element by element (see {@link #isElementWise(IUpdater)}). */
    public static boolean isElementWise(final Regularization regularization)
    {
        return regularization != null && ELEMENT_WISE_REGULARIZATION.contains(regularization.getClass());
    }

    /** Whether a dense or output layer (checked by {@link #check}) has a bias vector. */
    public static boolean hasBias(final Layer layer)
    {
        return layer instanceof DenseLayer dense ? dense.hasBias() : ((BaseOutputLayer)layer).hasBias();
    }

    /** Checks the split choice first (so the caller learns what they asked wrongly), then the whole model. */
    public static void check(final MultiLayerConfiguration conf, final Set<Integer> splitLayers)
    {
        final int count = conf.getConfs().size();
        for (final int index : splitLayers)
        {
            if (index < 0 || index >= count)
            {
                throw new SplitConfigException("split layer index " + index + " is out of range: the network has "
                    + count + " layers (0.." + (count - 1) + ")");
            }
            final Layer layer = conf.getConf(index).getLayer();
            if (!(layer instanceof DenseLayer) && layer.getClass() != OutputLayer.class)
            {
                throw new SplitConfigException("layer " + index + " is a " + layer.getClass().getSimpleName()
                    + ": only DenseLayer and OutputLayer can be split by columns");
            }
        }
        checkModel(conf);
        for (final int index : splitLayers)
        {
            final Layer layer = conf.getConf(index).getLayer();
            if (layer instanceof DenseLayer dense)
            {
                requireElementWise(index, dense.getActivationFn());
            }
        }
    }

    private static void checkModel(final MultiLayerConfiguration conf)
    {
        if (conf.getBackpropType() != BackpropType.Standard)
        {
            throw new UnsupportedModelException("backprop type " + conf.getBackpropType() + ": only Standard");
        }
        if (conf.getInputPreProcessors() != null && !conf.getInputPreProcessors().isEmpty())
        {
            throw new UnsupportedModelException("input preprocessors on layers " + conf.getInputPreProcessors().keySet()
                + ": not supported");
        }
        final int count = conf.getConfs().size();
        for (int i = 0; i < count; i++)
        {
            final Layer layer = conf.getConf(i).getLayer();
            final boolean last = i == count - 1;
            final boolean expected = last ? layer.getClass() == OutputLayer.class : layer instanceof DenseLayer;
            if (!expected)
            {
                throw new UnsupportedModelException("layer " + i + " is a " + layer.getClass().getSimpleName()
                    + ": expected " + (last ? "OutputLayer (the last layer)" : "DenseLayer") + "; only MLPs are supported");
            }
            checkLayer(i, (BaseLayer)layer);
        }
    }

    private static void checkLayer(final int index, final BaseLayer layer)
    {
        final String where = "layer " + index + " (" + layer.getClass().getSimpleName() + ")";
        if (layer.getIDropout() != null)
        {
            throw new UnsupportedModelException(where + " uses dropout " + layer.getIDropout() + ": not supported");
        }
        if (layer.getWeightNoise() != null)
        {
            throw new UnsupportedModelException(where + " uses weight noise: not supported");
        }
        if (layer.getConstraints() != null && !layer.getConstraints().isEmpty())
        {
            throw new UnsupportedModelException(where + " has constraints " + layer.getConstraints() + ": not supported");
        }
        final GradientNormalization normalization = layer.getGradientNormalization();
        if (normalization != null && normalization != GradientNormalization.None)
        {
            throw new UnsupportedModelException(where + " uses gradient normalization " + normalization
                + ": not supported (it needs norms over the whole layer)");
        }
        if (layer instanceof DenseLayer dense && dense.hasLayerNorm())
        {
            throw new UnsupportedModelException(where + " uses layer normalization: not supported");
        }
        for (final String param : List.of("W", "b"))
        {
            final IUpdater updater = layer.getUpdaterByParam(param);
            if (!isElementWise(updater))
            {
                throw new UnsupportedModelException(where + " parameter " + param + " uses updater " + updater
                    + ": supported are " + names(ELEMENT_WISE_UPDATERS));
            }
            final List<Regularization> regularization = layer.getRegularizationByParam(param);
            for (final Regularization r : regularization == null ? List.<Regularization>of() : regularization)
            {
                if (!isElementWise(r))
                {
                    throw new UnsupportedModelException(where + " parameter " + param + " uses regularization " + r
                        + ": supported are " + names(ELEMENT_WISE_REGULARIZATION));
                }
            }
        }
    }

    private static void requireElementWise(final int index, final IActivation activation)
    {
        if (activation instanceof ActivationSoftmax || activation.numParams(1) != 0)
        {
            throw new SplitConfigException("layer " + index + " has activation " + activation
                + ", which is not element-wise: a dense layer split by columns needs an element-wise activation");
        }
    }

    private static String names(final Set<? extends Class<?>> classes)
    {
        return classes.stream().map(Class::getSimpleName).sorted().toList().toString();
    }
}
