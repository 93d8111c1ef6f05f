using MergeBuild.Fuzzing;
using MergeBuild.Fuzzing.Targets;

namespace MergeBuild.Eval.Tests.Fuzzing;

/// <summary>
/// Replays the committed tokenizer.json fuzzing corpus through the real loader plus an encode/decode: each input
/// must work or fail with a MergeBuildException (MB6002/MB6003), never another exception and never slowly.
/// </summary>
public sealed class TokenizerFuzzTests
{
    [Fact]
    public void Every_saved_tokenizer_corpus_input_loads_or_is_rejected_with_a_MergeBuild_error()
    {
        using var target = new TokenizerTarget();
        var result = CorpusReplay.Run(target, RepoFiles.Corpus("tokenizer"), slowLimit: TimeSpan.FromSeconds(5));

        Assert.Empty(result.Failures);
        Assert.True(result.Inputs >= 20, $"only {result.Inputs} corpus files");
        Assert.True(result.Accepted > 0, "no accepted input in the corpus");
        Assert.True(result.Rejected > 0, "no rejected input in the corpus");
    }

    [Fact]
    public void A_short_seeded_fuzz_run_of_the_tokenizer_finds_no_crash_or_hang()
    {
        using var target = new TokenizerTarget();
        var summary = new FuzzRun(target, new FuzzOptions
        {
            Seed = 12345, Duration = TimeSpan.FromSeconds(3), MaxExecs = 3000, HangTimeout = TimeSpan.FromSeconds(2),
        }).Run();

        Assert.True(summary.Crashes == 0, summary.ToString());
        Assert.True(summary.Hangs == 0, summary.ToString());
        Assert.True(summary.Execs >= 100, summary.ToString());
    }
}
