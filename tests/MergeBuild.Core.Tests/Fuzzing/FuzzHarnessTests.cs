using System.Text;
using MergeBuild.Diagnostics;
using MergeBuild.Fuzzing;
using MergeBuild.Tests;

namespace MergeBuild.Core.Tests.Fuzzing;

/// <summary>The harness itself must notice what it is there to notice: crashes, hangs, and new outcomes.</summary>
public sealed class FuzzHarnessTests
{
    // Throws NullReferenceException on any input containing a '#', a MergeBuildException on a '!', else accepts.
    private sealed class PlantedBugTarget(TimeSpan sleepOnAt) : IFuzzTarget
    {
        public string Name => "planted";

        public IReadOnlyList<string> Dictionary { get; } = ["#", "!", "@"];

        public IEnumerable<byte[]> Seeds() => [Encoding.ASCII.GetBytes("hello world")];

        public string Run(byte[] input)
        {
            if (input.Contains((byte)'@') && sleepOnAt > TimeSpan.Zero)
            {
                Thread.Sleep(sleepOnAt);
            }

            if (input.Contains((byte)'#'))
            {
                throw new NullReferenceException("planted");
            }

            return input.Contains((byte)'!')
                ? throw new MergeBuildException(ErrorCodes.InvalidValue, "bang", new SourceLocation("planted"))
                : "fine";
        }

        public void Dispose()
        {
        }
    }

    [Fact]
    public void A_non_MergeBuild_exception_is_counted_as_a_crash_and_saved()
    {
        using var folder = new TempFolder();
        using var target = new PlantedBugTarget(TimeSpan.Zero);
        var summary = new FuzzRun(target, new FuzzOptions
        {
            Seed = 3, MaxExecs = 2000, Duration = TimeSpan.FromSeconds(30), CorpusFolder = folder.Combine("corpus"),
            ArtifactsFolder = folder.Combine("artifacts"),
        }).Run();

        Assert.True(summary.Crashes > 0);
        var crashes = Directory.GetFiles(folder.Combine("artifacts", "crashes"), "*.bin");
        Assert.NotEmpty(crashes);
        Assert.All(crashes, file => Assert.Contains((byte)'#', File.ReadAllBytes(file)));

        // Three outcome classes exist (accepted, MB2004, the planted NullReferenceException); the corpus keeps one
        // input per class, so it holds three: the seed and one input for each error.
        Assert.Equal(3, summary.OutcomeCounts.Count);
        Assert.Equal(3, Directory.GetFiles(folder.Combine("corpus")).Length);
    }

    [Fact]
    public void An_input_that_runs_past_the_timeout_is_reported_as_a_hang()
    {
        using var target = new PlantedBugTarget(TimeSpan.FromMilliseconds(600));
        var summary = new FuzzRun(target, new FuzzOptions
        {
            Seed = 5, MaxExecs = 400, Duration = TimeSpan.FromSeconds(60), HangTimeout = TimeSpan.FromMilliseconds(200),
        }).Run();

        Assert.True(summary.Hangs > 0, summary.ToString());
    }
}
