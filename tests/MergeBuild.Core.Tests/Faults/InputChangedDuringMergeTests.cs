using MergeBuild.Diagnostics;
using MergeBuild.Execution;
using MergeBuild.Fingerprints;
using MergeBuild.Planning;
using MergeBuild.Recipes;
using MergeBuild.Tests;

namespace MergeBuild.Core.Tests.Faults;

/// <summary>
/// An input rewritten while the merge reads it (here: one byte of its data section flipped when the first tensor
/// is done) is detected by its content hash: MB1008 naming the file, and nothing lands — neither output nor
/// marker, so no build records the merge as done for a fingerprint its bytes do not match.
/// </summary>
public sealed class InputChangedDuringMergeTests
{
    // Flips the last byte of a file (inside the last tensor's data) the first time progress is reported.
    private sealed class ChangeOnFirstProgress(string file) : IProgress<MergeProgress>
    {
        private int _done;

        public void Report(MergeProgress value)
        {
            if (Interlocked.Exchange(ref _done, 1) == 1)
            {
                return;
            }

            using var stream = new FileStream(file, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
            stream.Seek(-1, SeekOrigin.End);
            var last = stream.ReadByte();
            stream.Seek(-1, SeekOrigin.End);
            stream.WriteByte((byte)(last ^ 0x01));
        }
    }

    private static string CopyModel(TempFolder temp, string name)
    {
        var to = temp.Combine("models", name);
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(Fixtures.Model(name)))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }

        return to;
    }

    /// <summary>A linear merge of copies of shipping and refunds (so a test may change them); the plan and refunds' weights.</summary>
    private static (MergePlan Plan, string RefundsWeights) PlanLinearMergeOfCopies(TempFolder temp)
    {
        var shipping = CopyModel(temp, "shipping");
        var refunds = CopyModel(temp, "refunds");
        var recipePath = temp.Combine("recipe.yml");
        File.WriteAllText(recipePath, $"""
            merge_method: linear
            models:
              - model: {shipping}
                parameters: {"{"}weight: 0.5{"}"}
              - model: {refunds}
                parameters: {"{"}weight: 0.5{"}"}
            dtype: float32
            """);
        return (MergePlanner.Plan(RecipeParser.ParseFile(recipePath)), Path.Combine(refunds, "model.safetensors"));
    }

    [Fact]
    public void A_weight_file_changed_mid_merge_fails_with_MB1008_and_nothing_lands()
    {
        using var temp = new TempFolder();
        var (plan, refundsWeights) = PlanLinearMergeOfCopies(temp);
        var changed = refundsWeights;
        var output = temp.Combine("out");

        var error = Assert.Throws<MergeBuildException>(() =>
            MergeExecutor.Execute(plan, output, new MergeOptions { Threads = 1, Fingerprint = "f1" }, new ChangeOnFirstProgress(changed)));

        Assert.Equal(ErrorCodes.CheckpointIo, error.Code);
        Assert.Equal(changed, error.Location?.File);
        Assert.Contains("changed while being read", error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(output));
        Assert.Empty(Directory.GetDirectories(temp.Path, ".out.*"));
    }

    [Fact]
    public void Without_a_change_the_same_merge_lands_with_the_fingerprint_in_its_marker()
    {
        // The control: the same setup without the change succeeds, so the failure above is the change's doing.
        using var temp = new TempFolder();
        var (plan, _) = PlanLinearMergeOfCopies(temp);

        var result = MergeExecutor.Execute(plan, temp.Combine("out"), new MergeOptions { Threads = 1, Fingerprint = "f1" });

        Assert.Equal("f1", OutputMarker.ReadFingerprint(result.OutputFolder));
    }

    // Moves a file's last-write time without changing a byte, the first time progress is reported.
    private sealed class TouchOnFirstProgress(string file) : IProgress<MergeProgress>
    {
        private int _done;

        public void Report(MergeProgress value)
        {
            if (Interlocked.Exchange(ref _done, 1) == 0)
            {
                File.SetLastWriteTimeUtc(file, File.GetLastWriteTimeUtc(file).AddMinutes(5));
            }
        }
    }

    [Fact]
    public void A_file_touched_mid_merge_without_a_changed_byte_is_hashed_again_and_the_merge_lands()
    {
        using var temp = new TempFolder();
        var (plan, refundsWeights) = PlanLinearMergeOfCopies(temp);
        var touched = refundsWeights;
        var before = File.GetLastWriteTimeUtc(touched);

        var result = MergeExecutor.Execute(plan, temp.Combine("out"), new MergeOptions { Threads = 2, Fingerprint = "f1" },
            new TouchOnFirstProgress(touched));

        Assert.Equal("f1", OutputMarker.ReadFingerprint(result.OutputFolder));
        // The touch really happened during the merge, so the snapshot saw a moved time and hashed the file again.
        Assert.Equal(before.AddMinutes(5), File.GetLastWriteTimeUtc(touched));
    }

    [Fact]
    public void A_memo_that_knows_the_inputs_answers_the_check_and_the_card_quotes_its_hashes()
    {
        using var temp = new TempFolder();
        var (plan, refundsWeights) = PlanLinearMergeOfCopies(temp);
        var inputs = InputSnapshot.FilesOf(plan).ToList();
        var memo = new ContentHashCache();
        foreach (var file in inputs)
        {
            memo.Hash(file);
        }

        var result = MergeExecutor.Execute(plan, temp.Combine("out"), new MergeOptions { Threads = 2, InputHasher = memo });

        Assert.Equal(inputs.Count, memo.Misses); // nothing hashed again by the merge
        var card = File.ReadAllText(Path.Combine(result.OutputFolder, ModelCard.FileName));
        Assert.Contains($"`{ContentHash.OfFile(refundsWeights)}`", card, StringComparison.Ordinal);
    }

    [Fact]
    public void With_a_memo_a_weight_file_changed_mid_merge_still_fails_with_MB1008()
    {
        using var temp = new TempFolder();
        var (plan, refundsWeights) = PlanLinearMergeOfCopies(temp);
        var memo = new ContentHashCache();
        foreach (var file in InputSnapshot.FilesOf(plan))
        {
            memo.Hash(file);
        }

        var output = temp.Combine("out");
        var error = Assert.Throws<MergeBuildException>(() => MergeExecutor.Execute(plan, output,
            new MergeOptions { Threads = 1, InputHasher = memo }, new ChangeOnFirstProgress(refundsWeights)));

        Assert.Equal(ErrorCodes.CheckpointIo, error.Code);
        Assert.Equal(refundsWeights, error.Location?.File);
        Assert.False(Directory.Exists(output));
    }

    [Fact]
    public void An_input_that_cannot_be_read_is_reported_as_that_file_not_as_a_parallel_loop_failure()
    {
        using var temp = new TempFolder();
        var (plan, refundsWeights) = PlanLinearMergeOfCopies(temp);

        var error = Assert.Throws<MergeBuildException>(() => MergeExecutor.Execute(plan, temp.Combine("out"),
            new MergeOptions { Threads = 2, InputHasher = new FailingHasher(refundsWeights) }));

        Assert.Equal(refundsWeights, error.Location?.File);
    }

    // Fails like a vanished file for one path, hashes the others.
    private sealed class FailingHasher(string failing) : IFileHasher
    {
        public FileHash Hash(string path) => path == failing
            ? throw new FileNotFoundException("gone", path)
            : ReadingFileHasher.Instance.Hash(path);
    }
}
