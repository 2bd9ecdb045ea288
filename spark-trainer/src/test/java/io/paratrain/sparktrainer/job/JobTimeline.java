package io.paratrain.sparktrainer.job;

import org.apache.spark.SparkConf;
import org.apache.spark.executor.TaskMetrics;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobEnd;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.scheduler.SparkListenerStageCompleted;
import org.apache.spark.scheduler.StageInfo;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * For {@link InputPreparationFigures}: the Spark jobs a run of the job started, each with its stages' task figures,
 * so that the figures can say where input preparation spends its time. Spark creates it from
 * {@code spark.extraListeners} (the job builds its own SparkContext), so its records go to a static list the
 * figures command reads and clears; nothing else uses it.
 */
public final class JobTimeline extends SparkListener
{
    /** The jobs of the current run, in the order they ended. */
    static final List<Job> JOBS = java.util.Collections.synchronizedList(new ArrayList<>());

    private final Map<Integer, Long> startMs = new ConcurrentHashMap<>();
    private final Map<Integer, String> names = new ConcurrentHashMap<>();
    private final Map<Integer, List<Integer>> stagesOfJob = new ConcurrentHashMap<>();
    private final Map<Integer, String> stageFigures = new ConcurrentHashMap<>();

    public JobTimeline(final SparkConf conf)
    {
        // created by Spark from spark.extraListeners
    }

    @Override
    public void onJobStart(final SparkListenerJobStart start)
    {
        startMs.put(start.jobId(), start.time());
        final List<Integer> stages = new ArrayList<>();
        String name = "?";
        for (final StageInfo stage : scala.collection.JavaConverters.seqAsJavaList(start.stageInfos()))
        {
            stages.add(stage.stageId());
            name = stage.name(); // the last stage (the result stage) names the action
        }
        names.put(start.jobId(), name);
        stagesOfJob.put(start.jobId(), stages);
    }

    @Override
    public void onStageCompleted(final SparkListenerStageCompleted completed)
    {
        final StageInfo stage = completed.stageInfo();
        final TaskMetrics m = stage.taskMetrics();
        final long ms = stage.completionTime().isDefined() && stage.submissionTime().isDefined() ?
            (Long)stage.completionTime().get() - (Long)stage.submissionTime().get() : -1;
        stageFigures.put(stage.stageId(), String.format(Locale.ROOT, "stage %d '%s': %d tasks in %.2f s " +
            "(task run %.2f s, deserialize %.2f s, gc %.2f s; input %.1f MB, shuffle write %.1f MB, read %.1f MB)",
            stage.stageId(), stage.name(), stage.numTasks(), ms / 1e3, m.executorRunTime() / 1e3,
            m.executorDeserializeTime() / 1e3, m.jvmGCTime() / 1e3, m.inputMetrics().bytesRead() / 1e6,
            m.shuffleWriteMetrics().bytesWritten() / 1e6, m.shuffleReadMetrics().totalBytesRead() / 1e6));
    }

    @Override
    public void onJobEnd(final SparkListenerJobEnd end)
    {
        final List<String> stages = new ArrayList<>();
        for (final int stage : stagesOfJob.getOrDefault(end.jobId(), List.of()))
        {
            final String figures = stageFigures.get(stage);
            stages.add(figures != null ? figures : "stage " + stage + " skipped");
        }
        JOBS.add(new Job(end.jobId(), names.getOrDefault(end.jobId(), "?"), startMs.getOrDefault(end.jobId(), 0L),
            end.time(), stages));
    }

    /** One Spark job: its action, when it started and ended (wall clock), and its stages' figures. */
    record Job(int id, String name, long startMs, long endMs, List<String> stages)
    {
    }
}
