package io.paratrain.sparktrainer;

/**
 * What a fit did.
 *
 * @param examplesPerEpoch  examples used in every epoch (all of them: none are dropped).
 * @param stepsPerEpoch     global steps per epoch.
 * @param epochs            epochs run.
 * @param seconds           wall time of the training stage.
 * @param samplesPerSecond  examples x epochs / seconds.
 * @param finalLoss         mean loss of the last step.
 * @param channel           whether the gradient channel was HMAC-checked and the frames it refused.
 */
public record TrainingSummary(
    long examplesPerEpoch,
    int stepsPerEpoch,
    int epochs,
    double seconds,
    double samplesPerSecond,
    double finalLoss,
    ChannelReport channel)
{
}
