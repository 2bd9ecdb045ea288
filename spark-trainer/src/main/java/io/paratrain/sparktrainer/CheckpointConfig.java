package io.paratrain.sparktrainer;

import io.paratrain.sparktrainer.exceptions.TrainerConfigException;

import java.io.Serializable;

/**
 * Periodic checkpoints of a fit (data parallel or model split), so that it can continue exactly where it stopped.
 *
 * @param directory  any Hadoop FileSystem path every executor and the driver can reach (HDFS, S3A, a shared
 *                   mount; a local folder only when all run on one host).
 * @param everySteps also write one every this many global steps (0 = only at the end of each epoch).
 * @param keep       how many of the newest checkpoints to keep (>= 1); older ones are deleted.
 * @param resume     start the fit from the newest valid checkpoint in {@code directory}. Without it the fit starts
 *                   from the network as given and deletes the checkpoints it finds there first. A stage that
 *                   Spark retries resumes in either case.
 */
public record CheckpointConfig(String directory, int everySteps, int keep, boolean resume) implements Serializable
{
    public CheckpointConfig
    {
        if (directory == null || directory.isBlank())
        {
            throw new TrainerConfigException("invalid CheckpointConfig.directory=" + directory + ": expected a path");
        }
        if (everySteps < 0)
        {
            throw new TrainerConfigException("invalid CheckpointConfig.everySteps=" + everySteps +
                ": expected >= 0 (0 = at epoch ends only)");
        }
        if (keep < 1)
        {
            throw new TrainerConfigException("invalid CheckpointConfig.keep=" + keep + ": expected >= 1");
        }
    }
}
