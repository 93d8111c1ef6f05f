using MergeBuild.Planning;

namespace MergeBuild.Execution;

/// <summary>Counts written output bytes and finished tensors, and reports whole tensors as they complete.</summary>
internal sealed class ProgressTracker(MergePlan plan, IProgress<MergeProgress>? progress)
{
    private readonly Dictionary<TensorJob, long> remaining = plan.Jobs.ToDictionary(j => j, j => j.OutputBytes);
    private readonly long totalBytes = plan.OutputBytes;
    private readonly object gate = new();
    private int tensorsDone;
    private long bytesDone;

    public void Written(TensorJob job, long bytes)
    {
        if (progress is null)
        {
            return;
        }

        lock (gate)
        {
            bytesDone += bytes;
            remaining[job] -= bytes;
            if (remaining[job] == 0)
            {
                tensorsDone++;
                progress.Report(new MergeProgress(tensorsDone, plan.Jobs.Count, bytesDone, totalBytes, job.OutputName));
            }
        }
    }
}
