using System.Globalization;
using System.Text;

namespace MergeBuild.Fuzzing;

/// <summary>The numbers of one run, as printed and written to <c>summary.txt</c>.</summary>
public sealed record FuzzSummary(
    string Target,
    int Seed,
    TimeSpan Wall,
    TimeSpan Cpu,
    long Execs,
    int CorpusEntries,
    int CorpusFiles,
    long CorpusBytes,
    IReadOnlyDictionary<string, long> OutcomeCounts,
    long Crashes,
    long Hangs,
    double SlowestMs,
    IReadOnlyList<string> CrashReports)
{
    public double ExecsPerSecond => Wall.TotalSeconds > 0 ? Execs / Wall.TotalSeconds : 0;

    public long Accepted => OutcomeCounts.Where(e => IsAccepted(e.Key)).Sum(e => e.Value);

    public long Rejected => OutcomeCounts.Where(e => !IsAccepted(e.Key)).Sum(e => e.Value);

    private static bool IsAccepted(string outcomeClass) => outcomeClass.StartsWith(Outcome.AcceptedPrefix + "|", StringComparison.Ordinal);

    public override string ToString()
    {
        var c = CultureInfo.InvariantCulture;
        var text = new StringBuilder();
        text.AppendLine(c, $"target {Target}  seed {Seed}");
        text.AppendLine(c, $"wall {Wall.TotalSeconds:F0} s  cpu {Cpu.TotalSeconds:F0} s  execs {Execs}  execs/s {ExecsPerSecond:F0}");
        text.AppendLine(c, $"corpus {CorpusEntries} entries in memory, {CorpusFiles} files / {CorpusBytes} bytes saved");
        text.AppendLine(c, $"outcome classes {OutcomeCounts.Count}  accepted {Accepted}  rejected {Rejected}");
        text.AppendLine(c, $"crashes {Crashes}  hangs {Hangs}  slowest input {SlowestMs:F1} ms");
        foreach (var (name, count) in OutcomeCounts.OrderByDescending(e => e.Value).ThenBy(e => e.Key, StringComparer.Ordinal).Take(40))
        {
            text.AppendLine(c, $"  {count,10}  {name}");
        }

        foreach (var report in CrashReports)
        {
            text.AppendLine("CRASH: " + report);
        }

        return text.ToString();
    }
}
