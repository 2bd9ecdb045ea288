package io.paratrain.modelsplit;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.GradientUpdater;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.regularization.Regularization;

import java.util.ArrayList;
import java.util.List;

/**
 * DL4J's update of one parameter (a W_i or b_i slice), step for step as {@code BaseMultiLayerUpdater.update} and
 * {@code UpdaterBlock.update} do it for a dense layer, on this slice alone:
 * <pre>
 *   g  = g / batchSize                          (only when the configuration is "minibatch", DL4J's default)
 *   g  = g + reg_before(p, g, lr)               (L1, L2: regularization applied before the updater)
 *   u  = updater(g; state, iteration, epoch)    (the ND4J GradientUpdater of the layer's IUpdater, in place)
 *   u  = u + reg_after(p, u, lr)                (weight decay)
 *   p  = p - u
 * </pre>
 * with lr = the updater's learning rate at (iteration, epoch), as DL4J passes it to the regularization.
 * DL4J runs the updater once over a block of consecutive parameters with equal configuration; running it per
 * slice gives the same numbers because every supported updater is element-wise (checked by
 * {@link ModelSupport}). The state holds k components of the slice's length, stored one after the other
 * (Adam: m then v), exactly as within a DL4J block.
 */
public final class SliceUpdater
{
    private final INDArray params;
    private final INDArray gradient;
    private final IUpdater config;
    private final GradientUpdater<?> updater;
    private final INDArray state;
    private final List<Regularization> regularization;
    private final boolean divideByMinibatch;

    /**
     * @param params   row vector [1, n]: a view of the slice's parameters.
     * @param gradient row vector [1, n]: a view of the slice's gradient, overwritten by the update.
     */
    public SliceUpdater(final INDArray params, final INDArray gradient, final IUpdater config,
                        final List<Regularization> regularization, final boolean divideByMinibatch)
    {
        this.params = params;
        this.gradient = gradient;
        this.config = config.clone();
        this.regularization = regularization == null ? List.of() : new ArrayList<>(regularization);
        this.divideByMinibatch = divideByMinibatch;
        final long stateLength = this.config.stateSize(params.length());
        this.state = stateLength == 0 ? null : Nd4j.zeros(params.dataType(), 1, stateLength);
        this.updater = this.config.instantiate(state, true);
    }

    /** Applies the update for the gradient sum currently in the gradient view. */
    public void update(final int batchSize, final int iteration, final int epoch)
    {
        if (divideByMinibatch)
        {
            gradient.divi(batchSize);
        }
        final double lr = config.hasLearningRate() ? config.getLearningRate(iteration, epoch) : 1.0;
        regularize(Regularization.ApplyStep.BEFORE_UPDATER, lr, iteration, epoch);
        updater.applyUpdater(gradient, iteration, epoch);
        regularize(Regularization.ApplyStep.POST_UPDATER, lr, iteration, epoch);
        params.subi(gradient);
    }

    private void regularize(final Regularization.ApplyStep step, final double lr, final int iteration,
                            final int epoch)
    {
        for (final Regularization r : regularization)
        {
            if (r.applyStep() == step)
            {
                r.apply(params, gradient, lr, iteration, epoch);
            }
        }
    }

    /** Number of state components k (Adam 2, Nesterovs 1, Sgd 0). */
    public int stateComponents()
    {
        return state == null ? 0 : (int)(state.length() / params.length());
    }

    /** Component c of the state: a row-vector view [1, n], in the slice's parameter order. */
    public INDArray stateComponent(final int c)
    {
        final long n = params.length();
        return state.get(NDArrayIndex.interval(0, 0, true), NDArrayIndex.interval(c * n, (c + 1) * n));
    }
}
