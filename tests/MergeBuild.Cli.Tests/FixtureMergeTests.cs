using MergeBuild.Tests;

namespace MergeBuild.Cli.Tests;

/// <summary>
/// The example recipes run from the command line on the fixture models and reproduce the reference merges written
/// by an independent implementation (fixtures/expected/merges): bit for bit where the arithmetic is exact, within one
/// bfloat16 ulp for slerp (the reference computed it in float64).
/// </summary>
public class FixtureMergeTests
{
    private static string Example(string name)
    {
        var examples = Path.Combine(Path.GetDirectoryName(Fixtures.Root)!, "examples", "recipes");
        return Path.Combine(examples, name + ".yml");
    }

    private static Dictionary<string, RawSafetensors.Tensor> MergeExample(TempFolder temp, string example)
    {
        var result = CliRunner.Run("merge", Example(example), temp.Combine(example), "--quiet");
        Assert.True(result.ExitCode == 0, result.Error);
        return RawSafetensors.ReadFolder(temp.Combine(example));
    }

    [Theory]
    [InlineData("specialists-linear", "linear")]
    [InlineData("specialists-task-arithmetic", "task_arithmetic-w1.0")]
    [InlineData("specialists-ties", "ties-d0.5")]
    [InlineData("specialists-union-sku", "ties-d0.5+sku")]
    public void Exact_methods_reproduce_the_reference_bit_for_bit(string example, string row)
    {
        using var temp = new TempFolder();
        var merged = MergeExample(temp, example);
        var reference = RawSafetensors.ReadFolder(Fixtures.ExpectedMerge(row));
        Assert.Equal(reference.Keys.Order(), merged.Keys.Order());
        Assert.All(reference, kv => Assert.Equal(kv.Value.Data, merged[kv.Key].Data));
    }

    [Fact]
    public void Slerp_is_within_one_bfloat16_ulp_of_the_float64_reference()
    {
        using var temp = new TempFolder();
        var merged = MergeExample(temp, "shipping-refunds-slerp");
        var reference = RawSafetensors.ReadFolder(Fixtures.ExpectedMerge("slerp-shipping-refunds-t0.5"));
        Assert.Equal(reference.Keys.Order(), merged.Keys.Order());
        foreach (var (name, tensor) in reference)
        {
            var expected = tensor.Data;
            var actual = merged[name].Data;
            for (var i = 0; i < expected.Length; i += 2)
            {
                // bf16 bit patterns of the same sign are ordered like their values: one ulp = a difference of 1.
                var a = (short)BitConverter.ToUInt16(expected, i);
                var b = (short)BitConverter.ToUInt16(actual, i);
                Assert.True(Math.Abs(a - b) <= 1, $"{name}[{i / 2}]: {a:x4} vs {b:x4}");
            }
        }
    }

    [Fact]
    public void Dare_ties_runs_and_is_reproducible()
    {
        using var temp = new TempFolder();
        var first = MergeExample(temp, "specialists-dare-ties");
        var result = CliRunner.Run("merge", Example("specialists-dare-ties"), temp.Combine("again"), "--quiet",
            "--threads", "1");
        Assert.Equal(0, result.ExitCode);
        var second = RawSafetensors.ReadFolder(temp.Combine("again"));
        Assert.All(first, kv => Assert.Equal(kv.Value.Data, second[kv.Key].Data));
        // Dropping half of every task vector changes the merge: it is not plain TIES.
        var ties = RawSafetensors.ReadFolder(Fixtures.ExpectedMerge("ties-d0.5"));
        Assert.Contains(first, kv => !kv.Value.Data.SequenceEqual(ties[kv.Key].Data));
    }
}
