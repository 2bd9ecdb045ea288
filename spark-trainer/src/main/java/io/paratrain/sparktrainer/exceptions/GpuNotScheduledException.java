package io.paratrain.sparktrainer.exceptions;

/**
 * ND4J runs on its CUDA backend but Spark scheduled no GPU for the task: every replica of the executor would
 * otherwise train on device 0. The message names the rank and the settings that fix it.
 */
public class GpuNotScheduledException extends TrainerConfigException
{
    public GpuNotScheduledException(final String message)
    {
        super(message);
    }
}
