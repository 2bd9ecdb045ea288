package io.paratrain.sparktrainer.job;

import io.paratrain.sparktrainer.DataParallelTrainer;
import io.paratrain.sparktrainer.TrainingSummary;
import org.apache.spark.api.java.JavaRDD;
import org.nd4j.linalg.dataset.DataSet;

/** The checked training data, and the trainer entry point it goes through. */
sealed interface TrainingData permits TrainingData.Examples, TrainingData.Exported
{
    /** One data-parallel fit of {@code model} on this data. */
    TrainingSummary fit(JobModel model, DataParallelTrainer trainer);

    /** The examples as DataSets: what the model is evaluated on when no --test is given. */
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
}
