using System.Security.Cryptography;
using System.Text.Json;
using MergeBuild.Execution;
using MergeBuild.Methods;
using MergeBuild.Tests;

namespace MergeBuild.Core.Tests.Execution;

public class TaskArithmeticFamilyMergeTests
{
    private static readonly string[] Specialists = ["shipping", "refunds", "catalog"];

    private static string Recipe(string method, string modelParameters, string globalParameters = "") => $$"""
        merge_method: {{method}}
        base_model: {models}/base
        models:
          - model: {models}/shipping
            parameters: {{{modelParameters}}}
          - model: {models}/refunds
            parameters: {{{modelParameters}}}
          - model: {models}/catalog
            parameters: {{{modelParameters}}}
        {{globalParameters}}
        dtype: float32
        out_dtype: bfloat16
        """;

    private static void AssertSameAsReference(string output, string row)
    {
        var merged = RawSafetensors.ReadFolder(output);
        var reference = RawSafetensors.ReadFolder(Fixtures.ExpectedMerge(row));
        Assert.Equal(reference.Keys.Order(), merged.Keys.Order());
        foreach (var (name, tensor) in reference)
        {
            Assert.Equal(tensor.DType, merged[name].DType);
            Assert.Equal(tensor.Shape, merged[name].Shape);
            Assert.True(tensor.Data.AsSpan().SequenceEqual(merged[name].Data), $"{row}: {name} differs");
        }
    }

    [Fact]
    public void Task_arithmetic_weight_one_is_bit_identical_to_the_reference_merge()
    {
        using var temp = new TempFolder();
        AssertSameAsReference(MergeRunner.Merge(temp, Recipe("task_arithmetic", "weight: 1.0")), "task_arithmetic-w1.0");
    }

    [Fact]
    public void Ties_density_half_is_bit_identical_to_the_reference_merge()
    {
        using var temp = new TempFolder();
        var output = MergeRunner.Merge(temp,
            Recipe("ties", "weight: 1.0, density: 0.5", "parameters:\n  normalize: true"));
        AssertSameAsReference(output, "ties-d0.5");
    }

    [Fact]
    public void Task_arithmetic_weight_half_matches_the_pinned_hashes()
    {
        using var temp = new TempFolder();
        var merged = RawSafetensors.ReadFolder(MergeRunner.Merge(temp, Recipe("task_arithmetic", "weight: 0.5")));
        using var hashes = JsonDocument.Parse(File.ReadAllText(Path.Combine(Fixtures.Root, "expected", "merge_hashes.json")));
        var row = hashes.RootElement.GetProperty("task_arithmetic-w0.5");
        Assert.Equal(row.EnumerateObject().Select(p => p.Name).Order(), merged.Keys.Order());
        foreach (var entry in row.EnumerateObject())
        {
            var tensor = merged[entry.Name];
            Assert.Equal(entry.Value.GetProperty("dtype").GetString(), tensor.DType);
            Assert.Equal(entry.Value.GetProperty("sha256").GetString(),
                Convert.ToHexStringLower(SHA256.HashData(tensor.Data)));
        }
    }

    [Fact]
    public void Dare_ties_on_the_fixtures_matches_an_independent_computation()
    {
        // Not the fixtures' dare_ties row: that one rescales by 1/density, mergekit (and MergeBuild) by the L1 ratio.
        using var temp = new TempFolder();
        var merged = RawSafetensors.ReadFolder(MergeRunner.Merge(temp, Recipe("dare_ties", "weight: 1.0, density: 0.5")));
        var b = RawSafetensors.ReadFolder(Fixtures.Model("base"));
        var models = Specialists.Select(s => RawSafetensors.ReadFolder(Fixtures.Model(s))).ToArray();
        Assert.Equal(b.Keys.Order(), merged.Keys.Order());
        foreach (var (name, tensor) in merged)
        {
            var baseValues = b[name].AsFloats();
            var sparse = models.Select((m, index) =>
            {
                var x = m[name].AsFloats();
                var delta = x.Select((v, i) => v - baseValues[i]).ToArray();
                var random = new CounterRandom(MergeOptions.DefaultRandomSeed, index, name);
                var masked = delta.Select((v, i) => random.Uniform(i) < 0.5 ? v : 0f).ToArray();
                var before = (float)delta.Sum(v => Math.Abs((double)v));
                var after = (float)masked.Sum(v => Math.Abs((double)v));
                return before < 1e-7f || after < 1e-7f ? masked : masked.Select(v => v * (before / after)).ToArray();
            }).ToArray();
            var expected = baseValues.Select((bv, i) =>
            {
                var sign = sparse[0][i] + sparse[1][i] + sparse[2][i] >= 0 ? 1 : -1;
                var sum = 0f;
                var first = true;
                foreach (var s in sparse)
                {
                    if (Math.Sign(s[i]) == sign)
                    {
                        sum = first ? s[i] : sum + s[i];
                        first = false;
                    }
                }

                return bv + sum; // normalize defaults to false for dare_ties
            });
            Assert.Equal("BF16", tensor.DType);
            Assert.True(Bf16.Encode(expected).AsSpan().SequenceEqual(tensor.Data), $"{name} differs");
        }
    }

    [Theory]
    [InlineData("dare_ties", "weight: 0.7, density: 0.4")]
    [InlineData("dare_linear", "weight: 0.5, density: 0.6")]
    [InlineData("della", "weight: 1.0, density: 0.5, epsilon: 0.1")]
    [InlineData("della_linear", "weight: 0.4, density: 0.3, epsilon: 0.2")]
    [InlineData("breadcrumbs_ties", "weight: 1.0, density: 0.5, gamma: 0.02")]
    [InlineData("task_arithmetic", "weight: 0.3")]
    public void Output_bytes_do_not_depend_on_threads_or_chunking(string method, string parameters)
    {
        using var temp = new TempFolder();
        var recipe = Recipe(method, parameters).Replace("out_dtype: bfloat16", "", StringComparison.Ordinal);
        byte[] Run(int threads, int chunk) => File.ReadAllBytes(Path.Combine(
            MergeRunner.Merge(temp, recipe, new MergeOptions { Threads = threads, ChunkElements = chunk, WriteModelCard = false },
                $"out-{threads}-{chunk}"), "model.safetensors"));

        var reference = Run(1, 1 << 16);
        Assert.Equal(reference, Run(2, 1000));
        Assert.Equal(reference, Run(8, 4096));
        Assert.Equal(reference, Run(8, 1 << 20));
    }
}
