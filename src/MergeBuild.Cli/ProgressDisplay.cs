using MergeBuild.Execution;

namespace MergeBuild.Cli;

/// <summary>
/// Shows merge progress: on a terminal one line redrawn in place, otherwise a plain line every 10% so logs stay
/// short and readable. Reports arrive from worker threads.
/// </summary>
internal sealed class ProgressDisplay(TextWriter output, bool interactive) : IProgress<MergeProgress>
{
    private const int BarWidth = 30;
    private readonly object gate = new();
    private int lastDecile = -1;
    private bool drewLine;

    public void Report(MergeProgress value)
    {
        lock (gate)
        {
            var percent = (int)(value.Fraction * 100);
            var summary = $"{percent,3}%  {value.TensorsDone}/{value.TensorCount} tensors, " +
                          $"{Formatting.Bytes(value.BytesDone)} of {Formatting.Bytes(value.BytesTotal)}";
            if (interactive)
            {
                var filled = (int)(value.Fraction * BarWidth);
                output.Write($"\r[{new string('#', filled)}{new string('.', BarWidth - filled)}] {summary}  ");
                drewLine = true;
                return;
            }

            var decile = percent / 10;
            if (decile > lastDecile)
            {
                lastDecile = decile;
                output.WriteLine($"merging: {summary}");
            }
        }
    }

    /// <summary>Starts counting afresh for the next document of a multi-document recipe.</summary>
    public void Reset()
    {
        lock (gate)
        {
            lastDecile = -1;
        }
    }

    /// <summary>Ends the redrawn line so the next output starts on a fresh one.</summary>
    public void Finish()
    {
        lock (gate)
        {
            if (drewLine)
            {
                output.WriteLine();
                drewLine = false;
            }
        }
    }
}
