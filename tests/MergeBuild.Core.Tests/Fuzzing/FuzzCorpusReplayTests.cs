using MergeBuild.Fuzzing;
using MergeBuild.Fuzzing.Targets;

namespace MergeBuild.Core.Tests.Fuzzing;

/// <summary>
/// Replays the committed fuzzing corpora (tests/MergeBuild.Fuzz/corpus, written by 30-minute fuzzing runs) through
/// the real parsers: every input must parse or be rejected with a MergeBuildException carrying a code, a message
/// and a location, and none may be slow. Then a few seconds of fresh fuzzing per parser.
/// </summary>
public sealed class FuzzCorpusReplayTests
{
    public static TheoryData<string> Targets => new() { "safetensors", "index", "config", "recipe" };

    private static IFuzzTarget Create(string name) => name switch
    {
        "safetensors" => new SafetensorsTarget(),
        "index" => new ShardIndexTarget(),
        "config" => new ModelConfigTarget(),
        "recipe" => new RecipeTarget(),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [Theory]
    [MemberData(nameof(Targets))]
    public void Every_saved_corpus_input_parses_or_is_rejected_with_a_MergeBuild_error(string name)
    {
        using var target = Create(name);
        var result = CorpusReplay.Run(target, RepoFiles.Corpus(name), slowLimit: TimeSpan.FromSeconds(5));

        Assert.Empty(result.Failures);

        // The corpus holds both sides, so the replay exercises accepting and rejecting paths (not an empty folder).
        Assert.True(result.Inputs >= 20, $"only {result.Inputs} corpus files for {name}");
        Assert.True(result.Accepted > 0, $"no accepted input in the {name} corpus");
        Assert.True(result.Rejected > 0, $"no rejected input in the {name} corpus");
    }

    [Theory]
    [MemberData(nameof(Targets))]
    public void A_short_seeded_fuzz_run_finds_no_crash_or_hang(string name)
    {
        using var target = Create(name);
        var summary = new FuzzRun(target, new FuzzOptions
        {
            Seed = 12345,
            Duration = TimeSpan.FromSeconds(3),
            MaxExecs = 3000,
            HangTimeout = TimeSpan.FromSeconds(2),
        }).Run();

        Assert.True(summary.Crashes == 0, summary.ToString());
        Assert.True(summary.Hangs == 0, summary.ToString());
        Assert.True(summary.Execs >= 100, summary.ToString());
    }
}
