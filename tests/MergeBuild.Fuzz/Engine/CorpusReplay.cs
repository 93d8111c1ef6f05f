using System.Diagnostics;

namespace MergeBuild.Fuzzing;

/// <summary>Runs every saved corpus input of a target once, as the tests do, and classifies the outcomes.</summary>
public static class CorpusReplay
{
    /// <summary>What the replay saw: how many inputs, how many accepted, and each input that broke the rules.</summary>
    public sealed record Result(int Inputs, int Accepted, int Rejected, IReadOnlyList<string> Failures);

    public static Result Run(IFuzzTarget target, string folder, TimeSpan slowLimit)
    {
        ArgumentNullException.ThrowIfNull(target);
        var failures = new List<string>();
        int accepted = 0, rejected = 0, inputs = 0;
        foreach (var file in Directory.GetFiles(folder).Order(StringComparer.Ordinal))
        {
            inputs++;
            var input = File.ReadAllBytes(file);
            var clock = Stopwatch.StartNew();
            Outcome outcome;
            try
            {
                outcome = Outcome.Success(target.Run(input));
            }
            catch (Exception ex)
            {
                outcome = Outcome.Of(ex);
            }

            if (!outcome.Allowed)
            {
                failures.Add($"{Path.GetFileName(file)}: {outcome.Error}");
            }
            else if (clock.Elapsed > slowLimit)
            {
                failures.Add($"{Path.GetFileName(file)}: took {clock.Elapsed.TotalSeconds:F1} s");
            }
            else if (outcome.Error is null)
            {
                accepted++;
            }
            else
            {
                rejected++;
            }
        }

        return new Result(inputs, accepted, rejected, failures);
    }
}
