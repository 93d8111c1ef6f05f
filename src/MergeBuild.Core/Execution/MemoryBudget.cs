namespace MergeBuild.Execution;

/// <summary>
/// Bounds the memory that tensor states hold at once (a weighted semaphore). A request larger than the whole budget
/// still runs, alone, so a single huge tensor never deadlocks the merge.
/// </summary>
internal sealed class MemoryBudget(long limit)
{
    private readonly object gate = new();
    private long used;

    public long Limit { get; } = Math.Max(1, limit);

    /// <summary>Waits until <paramref name="bytes"/> fit in the budget and takes them; returns what to release.</summary>
    public long Acquire(long bytes, CancellationToken cancellationToken)
    {
        var take = Math.Min(Math.Max(0, bytes), Limit);
        if (take == 0)
        {
            return 0;
        }

        lock (gate)
        {
            while (used > 0 && used + take > Limit)
            {
                cancellationToken.ThrowIfCancellationRequested();
                Monitor.Wait(gate, TimeSpan.FromMilliseconds(100));
            }

            used += take;
        }

        return take;
    }

    public void Release(long taken)
    {
        if (taken == 0)
        {
            return;
        }

        lock (gate)
        {
            used -= taken;
            Monitor.PulseAll(gate);
        }
    }
}
