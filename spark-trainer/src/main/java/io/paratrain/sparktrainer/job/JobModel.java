package io.paratrain.sparktrainer.job;

import io.paratrain.modelsplit.SplitConfig;
import io.paratrain.sparktrainer.DataParallelTrainer;
import io.paratrain.sparktrainer.ModelSplitTrainer;
import io.paratrain.sparktrainer.TrainingSummary;
import io.paratrain.sparktrainer.exceptions.TrainingInputException;
import io.paratrain.sparktrainer.internal.evaluation.OutputEvaluator;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaRDD;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.MultiDataSet;

import java.io.IOException;
import java.util.Optional;

/**
 * The model the job trains, initialised from its configuration: a {@link MultiLayerNetwork} or a
 * {@link ComputationGraph} with one input and one output. Each kind calls the trainers' entry points for its type,
 * so the rest of the job is written once.
 */
public sealed interface JobModel permits JobModel.Network, JobModel.Graph
{
    /** What {@code --model} gave: a preset name or the JSON file. */
    String name();

    /** Features per example the data must have (the model's nIn); not for MultiDataSets ({@link #multiShape}). */
    int inputs();

    /** Classes the labels range over (the output layer's nOut). */
    int classes();

    long numParams();

    /**
     * Refuses, before any data is read, the options this kind of model cannot be trained with; the message names
     * the option, the model and a way around it.
     */
    void requireTrainableWith(JobOptions options);

    /** Model-split mode: the layers to cut (--split-layers or the job's choice), checked against the model. */
    SplitConfig split(JobOptions options);

    /** Whether an input preprocessor reshapes the features before the first layer (then its nIn is not a width). */
    boolean reshapesInput();

    TrainingSummary fit(DataParallelTrainer trainer, JavaRDD<DataSet> examples);

    /** Trains on exported DataSet files (DL4J's {@code fitPaths}), in the paths' order. */
    TrainingSummary fitPaths(DataParallelTrainer trainer, JavaRDD<String> paths);

    /** Trains on exported MultiDataSet files ({@code fitPathsMultiDataSet}): graphs only (requireTrainableWith). */
    TrainingSummary fitPathsMultiDataSet(DataParallelTrainer trainer, JavaRDD<String> paths);

    /** What MultiDataSets must hold for this model: graphs only (requireTrainableWith). */
    MultiGraphShape multiShape();

    /**
     * The evaluation on MultiDataSets: of a graph with one output as a classifier (evaluateMultiDataSet), of a graph
     * with several each output (evaluateOutputs), or, when an output cannot be evaluated, why: graphs only
     * (requireTrainableWith).
     */
    TestReport evaluateMultiDataSet(DataParallelTrainer trainer, JavaRDD<MultiDataSet> examples);

    TrainingSummary fit(ModelSplitTrainer trainer, JavaRDD<DataSet> examples);

    Evaluation evaluate(DataParallelTrainer trainer, JavaRDD<DataSet> examples);

    /** Writes the model as a ModelSerializer zip with its updater state ({@link ModelOutput}). */
    void write(String destination, Configuration hadoop) throws IOException;

    /** A MultiLayerConfiguration's network: trained by either mode, from examples or exported files. */
    final class Network implements JobModel
    {
        private final String name;
        private final MultiLayerConfiguration configuration;
        private final MultiLayerNetwork network;
        private final int[] inputsAndClasses;

        Network(final String name, final MultiLayerConfiguration configuration)
        {
            this.name = name;
            this.configuration = configuration;
            this.inputsAndClasses = ModelSource.inputsAndClasses(configuration);
            this.network = new MultiLayerNetwork(configuration);
            network.init();
        }

        @Override
        public String name()
        {
            return name;
        }

        @Override
        public int inputs()
        {
            return inputsAndClasses[0];
        }

        @Override
        public int classes()
        {
            return inputsAndClasses[1];
        }

        @Override
        public long numParams()
        {
            return network.numParams();
        }

        @Override
        public void requireTrainableWith(final JobOptions options)
        {
            if (options.exportedMulti())
            {
                throw new TrainingInputException("--format " + JobOptions.EXPORTED_MULTI + " trains a " +
                    "ComputationGraph on MultiDataSets; --model " + name + " is a MultiLayerNetwork: export its " +
                    "data as DataSets (DataSet.save) and give --format " + JobOptions.EXPORTED + ", or configure " +
                    "the model as a ComputationGraph");
            }
        }

        @Override
        public TrainingSummary fitPathsMultiDataSet(final DataParallelTrainer trainer, final JavaRDD<String> paths)
        {
            throw new IllegalStateException("requireTrainableWith refuses MultiDataSets for a MultiLayerNetwork");
        }

        @Override
        public MultiGraphShape multiShape()
        {
            throw new IllegalStateException("requireTrainableWith refuses MultiDataSets for a MultiLayerNetwork");
        }

        @Override
        public TestReport evaluateMultiDataSet(final DataParallelTrainer trainer,
            final JavaRDD<MultiDataSet> examples)
        {
            throw new IllegalStateException("requireTrainableWith refuses MultiDataSets for a MultiLayerNetwork");
        }

        @Override
        public SplitConfig split(final JobOptions options)
        {
            final SplitConfig split = SplitChoice.of(options, configuration);
            ModelSplitTrainer.check(configuration, split);
            return split;
        }

        @Override
        public boolean reshapesInput()
        {
            return configuration.getInputPreProcess(0) != null;
        }

        @Override
        public TrainingSummary fit(final DataParallelTrainer trainer, final JavaRDD<DataSet> examples)
        {
            return trainer.fit(network, examples);
        }

        @Override
        public TrainingSummary fitPaths(final DataParallelTrainer trainer, final JavaRDD<String> paths)
        {
            return trainer.fitPaths(network, paths);
        }

        @Override
        public TrainingSummary fit(final ModelSplitTrainer trainer, final JavaRDD<DataSet> examples)
        {
            return trainer.fit(network, examples);
        }

        @Override
        public Evaluation evaluate(final DataParallelTrainer trainer, final JavaRDD<DataSet> examples)
        {
            return trainer.evaluate(network, examples);
        }

        @Override
        public void write(final String destination, final Configuration hadoop) throws IOException
        {
            ModelOutput.write(network, destination, hadoop);
        }
    }

    /**
     * A ComputationGraphConfiguration's graph: data-parallel training from examples or exported DataSet files (one
     * input, one output: {@link GraphShape}) or from exported MultiDataSet files (any inputs and outputs:
     * {@link MultiGraphShape}); not model-split (it cuts a MultiLayerNetwork's layers), which
     * {@link #requireTrainableWith} refuses.
     */
    final class Graph implements JobModel
    {
        private final String name;
        private final ComputationGraph graph;
        private final MultiGraphShape multiShape;
        /** The one-input, one-output shape, or null when the graph has another (then {@link #shapeError}). */
        private final GraphShape shape;
        private final TrainingInputException shapeError;

        Graph(final String name, final ComputationGraphConfiguration configuration)
        {
            this.name = name;
            GraphShape oneInOneOut = null;
            TrainingInputException error = null;
            try
            {
                oneInOneOut = GraphShape.of(name, configuration);
            }
            catch (final TrainingInputException ex)
            {
                error = ex; // thrown by requireTrainableWith unless the data are MultiDataSets
            }
            this.shape = oneInOneOut;
            this.shapeError = error;
            this.multiShape = MultiGraphShape.of(configuration);
            this.graph = new ComputationGraph(configuration);
            graph.init();
        }

        @Override
        public String name()
        {
            return name;
        }

        @Override
        public int inputs()
        {
            return shape.inputs();
        }

        @Override
        public int classes()
        {
            return shape.classes();
        }

        @Override
        public long numParams()
        {
            return graph.numParams();
        }

        @Override
        public void requireTrainableWith(final JobOptions options)
        {
            if (shape == null && !options.exportedMulti())
            {
                throw shapeError;
            }
            if (options.modelSplit())
            {
                throw new TrainingInputException("--mode " + JobOptions.MODEL_SPLIT + " cuts the layers of a " +
                    "MultiLayerNetwork; --model " + name + " is a ComputationGraph: train it with --mode " +
                    JobOptions.DATA_PARALLEL);
            }
        }

        @Override
        public SplitConfig split(final JobOptions options)
        {
            throw new IllegalStateException("requireTrainableWith refuses model-split for a ComputationGraph");
        }

        @Override
        public boolean reshapesInput()
        {
            return false; // GraphShape refuses a graph whose input is reshaped
        }

        @Override
        public TrainingSummary fit(final DataParallelTrainer trainer, final JavaRDD<DataSet> examples)
        {
            return trainer.fit(graph, examples);
        }

        @Override
        public TrainingSummary fitPaths(final DataParallelTrainer trainer, final JavaRDD<String> paths)
        {
            return trainer.fitPaths(graph, paths);
        }

        @Override
        public TrainingSummary fitPathsMultiDataSet(final DataParallelTrainer trainer, final JavaRDD<String> paths)
        {
            return trainer.fitPathsMultiDataSet(graph, paths);
        }

        @Override
        public MultiGraphShape multiShape()
        {
            return multiShape;
        }

        @Override
        public TestReport evaluateMultiDataSet(final DataParallelTrainer trainer,
            final JavaRDD<MultiDataSet> examples)
        {
            if (graph.getNumOutputArrays() == 1)
            {
                return new TestReport.OneOutput(trainer.evaluateMultiDataSet(graph, examples));
            }
            // asked first: evaluateOutputs would throw, and the job evaluates before it writes the trained model
            final Optional<String> refusal = OutputEvaluator.refusal(graph.getConfiguration());
            return refusal.isPresent() ? new TestReport.Skipped(refusal.get()) :
                new TestReport.PerOutput(multiShape.outputs(), trainer.evaluateOutputs(graph, examples));
        }

        @Override
        public TrainingSummary fit(final ModelSplitTrainer trainer, final JavaRDD<DataSet> examples)
        {
            throw new IllegalStateException("requireTrainableWith refuses model-split for a ComputationGraph");
        }

        @Override
        public Evaluation evaluate(final DataParallelTrainer trainer, final JavaRDD<DataSet> examples)
        {
            return trainer.evaluate(graph, examples);
        }

        @Override
        public void write(final String destination, final Configuration hadoop) throws IOException
        {
            ModelOutput.write(graph, destination, hadoop);
        }
    }
}
