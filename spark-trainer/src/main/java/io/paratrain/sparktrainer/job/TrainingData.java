package io.paratrain.sparktrainer.job;

import io.paratrain.sparktrainer.DataParallelTrainer;
import io.paratrain.sparktrainer.TrainingSummary;
import org.apache.spark.api.java.JavaRDD;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.MultiDataSet;

/** The checked training data, and the trainer entry point it goes through. */
sealed interface TrainingData permits TrainingData.Examples, TrainingData.Exported,
    TrainingData.ExportedMulti
{
    /** One data-parallel fit of {@code model} on this data. */
    TrainingSummary fit(JobModel model, DataParallelTrainer trainer);

    /** The examples as DataSets: what the model is evaluated on when no --test is given (not for MultiDataSets). */
    JavaRDD<DataSet> examples();

    /** CSV, LibSVM, Parquet or the bundled data, read, checked and in data order. */
    record Examples(JavaRDD<DataSet> examples) implements TrainingData
    {
        @Override
        public TrainingSummary fit(final JobModel model, final DataParallelTrainer trainer)
        {
            return model.fit(trainer, examples);
        }
    }

    /**
     * Exported DataSet files, checked, in training order: trained through {@code fitPaths}, which loads each file
     * only where a replica reads it.
     *
     * @param paths    the files, in order.
     * @param examples the same files loaded one at a time (for evaluation).
     */
    record Exported(JavaRDD<String> paths, JavaRDD<DataSet> examples) implements TrainingData
    {
        @Override
        public TrainingSummary fit(final JobModel model, final DataParallelTrainer trainer)
        {
            return model.fitPaths(trainer, paths);
        }
    }

    /**
     * Exported MultiDataSet files, checked, in training order: trained through {@code fitPathsMultiDataSet}.
     *
     * @param paths         the files, in order.
     * @param multiDataSets the same files loaded one at a time (for evaluation).
     */
    record ExportedMulti(JavaRDD<String> paths, JavaRDD<MultiDataSet> multiDataSets) implements TrainingData
    {
        @Override
        public TrainingSummary fit(final JobModel model, final DataParallelTrainer trainer)
        {
            return model.fitPathsMultiDataSet(trainer, paths);
        }

        @Override
        public JavaRDD<DataSet> examples()
        {
            throw new IllegalStateException("MultiDataSets are evaluated through multiDataSets(); JobOptions " +
                "refuses model-split and --plot with them");
        }
    }
}
