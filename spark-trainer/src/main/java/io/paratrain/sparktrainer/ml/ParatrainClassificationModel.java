package io.paratrain.sparktrainer.ml;

import io.paratrain.sparktrainer.exceptions.TrainingInputException;
import io.paratrain.sparktrainer.internal.snapshot.ModelSnapshot;
import io.paratrain.sparktrainer.job.ModelOutput;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.Path;
import org.apache.spark.ml.classification.ProbabilisticClassificationModel;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.DefaultParamsWriter;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.ml.util.MLWritable;
import org.apache.spark.ml.util.MLWriter;
import org.apache.spark.sql.types.StructType;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import scala.Option;

import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * The trained network as a Spark ML {@code Model}: {@code transform} adds {@code rawPredictionCol} and
 * {@code probabilityCol} (both the network's softmax output, which is already a distribution) and
 * {@code predictionCol} (the most probable class index). Saved with {@code write().save(path)}: Spark's parameter
 * metadata plus {@code data/network.zip}, a DL4J ModelSerializer file with updater state.
 */
public final class ParatrainClassificationModel
    extends ProbabilisticClassificationModel<Vector, ParatrainClassificationModel>
    implements MLWritable
{
    private static final long serialVersionUID = 1L;
    private static final String NETWORK_FILE = "data/network.zip";

    private final String uid;
    /** The whole trained state (with the updater's), on the driver: for {@link #network()}, copies and saving. */
    private final transient ModelSnapshot snapshot;
    /**
     * What executors get for {@code transform}: configuration and parameters only (Adam's state would triple the
     * task size), rebuilt into a network once per task.
     */
    private final ModelSnapshot weights;
    private final int numFeatures;
    private final int numClasses;
    private final transient TrainingHistory history;
    private transient MultiLayerNetwork network;

    ParatrainClassificationModel(final String uid, final MultiLayerNetwork network, final TrainingHistory history)
    {
        this(PendingUid.hold(uid), network, history);
    }

    private ParatrainClassificationModel(final PendingUid.Token token, final MultiLayerNetwork network,
        final TrainingHistory history)
    {
        this.uid = token.take();
        this.snapshot = ModelSnapshot.of(network);
        this.weights = new ModelSnapshot(snapshot.configuration(), snapshot.parameters(), null,
            snapshot.iterationCount(), snapshot.epochCount());
        this.numFeatures = (int)network.layerInputSize(0);
        this.numClasses = (int)network.layerSize(network.getnLayers() - 1);
        this.history = history;
    }


    @Override
    public String uid()
    {
        return uid != null ? uid : PendingUid.current();
    }

    @Override
    public int numFeatures()
    {
        return numFeatures;
    }

    @Override
    public int numClasses()
    {
        return numClasses;
    }

    /** Loss and throughput per step and per epoch of the fit that made this model; null after {@link #load}. */
    public TrainingHistory history()
    {
        return history;
    }

    /** A copy of the trained DL4J network (parameters, updater state, counters). */
    public MultiLayerNetwork network()
    {
        return snapshot.restore();
    }

    @Override
    public StructType transformSchema(final StructType schema)
    {
        ColumnCheck.features(schema, getFeaturesCol(), numFeatures);
        return super.transformSchema(schema);
    }

    @Override
    public Vector predictRaw(final Vector features)
    {
        if (features.size() != numFeatures)
        {
            throw new TrainingInputException("a features vector has size " + features.size() + " but the network " +
                "has nIn=" + numFeatures);
        }
        final INDArray input = Nd4j.createFromArray(features.toArray()).castTo(DataType.FLOAT).reshape(1, numFeatures);
        final INDArray output;
        synchronized (this)
        {
            if (network == null)
            {
                network = weights.restore();
            }
            output = network.output(input);
        }
        return Vectors.dense(output.castTo(DataType.DOUBLE).toDoubleVector());
    }

    /**
     * Spark declares this in two Scala classes with return types that Java sees as unrelated (Scala allows the
     * covariant override; Java needs one method to pick): the probabilistic one is Spark's own choice.
     */
    @Override
    @SuppressWarnings({"rawtypes", "unchecked"})
    public scala.Tuple3 findSummaryModel()
    {
        return super.findSummaryModel();
    }

    /** The softmax output is already a probability distribution. */
    @Override
    public Vector raw2probabilityInPlace(final Vector rawPrediction)
    {
        return rawPrediction;
    }

    @Override
    public ParatrainClassificationModel copy(final ParamMap extra)
    {
        final ParatrainClassificationModel copy = new ParatrainClassificationModel(uid, snapshot.restore(), history);
        return copyValues(copy, extra).setParent(parent());
    }

    @Override
    public MLWriter write()
    {
        return new Writer(this);
    }

    public static MLReader<ParatrainClassificationModel> read()
    {
        return new Reader();
    }

    public static ParatrainClassificationModel load(final String path)
    {
        return read().load(path);
    }

    private static final class Writer extends MLWriter
    {
        private final ParatrainClassificationModel model;

        Writer(final ParatrainClassificationModel model)
        {
            this.model = model;
        }

        @Override
        public void saveImpl(final String path)
        {
            DefaultParamsWriter.saveMetadata(model, path, sc(), Option.empty(), Option.empty());
            try
            {
                ModelOutput.write(model.snapshot.restore(), new Path(path, NETWORK_FILE).toString(),
                    sc().hadoopConfiguration());
            }
            catch (final IOException ex)
            {
                throw new UncheckedIOException("cannot write the network to " + path + "/" + NETWORK_FILE, ex);
            }
        }
    }

    private static final class Reader extends MLReader<ParatrainClassificationModel>
    {
        @Override
        public ParatrainClassificationModel load(final String path)
        {
            final DefaultParamsReader.Metadata metadata = DefaultParamsReader.loadMetadata(path, sc(),
                ParatrainClassificationModel.class.getName());
            final Path file = new Path(path, NETWORK_FILE);
            final MultiLayerNetwork network;
            try (FSDataInputStream in = file.getFileSystem(sc().hadoopConfiguration()).open(file))
            {
                network = ModelSerializer.restoreMultiLayerNetwork(in, true);
            }
            catch (final IOException ex)
            {
                throw new UncheckedIOException("cannot read the network from " + file, ex);
            }
            final ParatrainClassificationModel model = new ParatrainClassificationModel(metadata.uid(), network, null);
            metadata.getAndSetParams(model, Option.empty());
            return model;
        }
    }

}
