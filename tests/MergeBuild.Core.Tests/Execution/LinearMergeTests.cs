using MergeBuild.Tests;

namespace MergeBuild.Core.Tests.Execution;

public class LinearMergeTests
{
    private static readonly string[] Specialists = ["shipping", "refunds", "catalog"];

    [Fact]
    public void Float32_average_of_the_specialists_matches_an_independent_computation_and_the_reference_merge()
    {
        using var temp = new TempFolder();
        var output = MergeRunner.Merge(temp, """
            merge_method: linear
            models:
              - model: {models}/shipping
                parameters: {weight: 1.0}
              - model: {models}/refunds
                parameters: {weight: 1.0}
              - model: {models}/catalog
                parameters: {weight: 1.0}
            dtype: float32
            out_dtype: bfloat16
            """);

        var inputs = Specialists.Select(s => RawSafetensors.ReadFolder(Fixtures.Model(s))).ToArray();
        var merged = RawSafetensors.ReadFolder(output);
        Assert.Equal(inputs[0].Keys.Order(), merged.Keys.Order());
        foreach (var (name, tensor) in merged)
        {
            var values = inputs.Select(m => m[name].AsFloats()).ToArray();
            // Written from the formula: float32 sum in recipe order, one division, one rounding to bf16.
            var expected = Enumerable.Range(0, values[0].Length)
                .Select(i => (values[0][i] * 1f + values[1][i] * 1f + values[2][i] * 1f) / 3f);
            Assert.Equal("BF16", tensor.DType);
            Assert.Equal(inputs[0][name].Shape, tensor.Shape);
            Assert.Equal(Bf16.Encode(expected), tensor.Data);
        }

        // The fixtures' reference merger (an independent Python implementation) wrote the same bytes.
        var reference = RawSafetensors.ReadFolder(Fixtures.ExpectedMerge("linear"));
        foreach (var (name, tensor) in reference)
        {
            Assert.Equal(tensor.Data, merged[name].Data);
        }
    }

    [Fact]
    public void Bfloat16_weighted_average_rounds_like_torch_at_every_step()
    {
        using var temp = new TempFolder();
        var output = MergeRunner.Merge(temp, """
            merge_method: linear
            models:
              - model: {models}/shipping
                parameters: {weight: 0.3}
              - model: {models}/refunds
                parameters: {weight: 0.7}
            """);

        var a = RawSafetensors.ReadFolder(Fixtures.Model("shipping"));
        var b = RawSafetensors.ReadFolder(Fixtures.Model("refunds"));
        var merged = RawSafetensors.ReadFolder(output);
        // torch in bf16: weights become bf16 (0.3 -> 0.30078125), each product is rounded to bf16, the products
        // are summed in float32 and rounded, the weight sum is rounded, the quotient is rounded.
        var wa = Bf16.Round(0.3f);
        var wb = Bf16.Round(0.7f);
        Assert.Equal(0.30078125f, wa);
        var weightSum = Bf16.Round(wa + wb);
        foreach (var (name, tensor) in merged)
        {
            var x = a[name].AsFloats();
            var y = b[name].AsFloats();
            var expected = x.Select((_, i) =>
                Bf16.Round(Bf16.Round(Bf16.Round(wa * x[i]) + Bf16.Round(wb * y[i])) / weightSum));
            Assert.Equal(Bf16.Encode(expected), tensor.Data);
        }
    }

    [Fact]
    public void Weights_one_and_zero_reproduce_the_first_model()
    {
        using var temp = new TempFolder();
        var output = MergeRunner.Merge(temp, """
            merge_method: linear
            models:
              - model: {models}/shipping
                parameters: {weight: 1}
              - model: {models}/refunds
                parameters: {weight: 0}
            """);

        var shipping = RawSafetensors.ReadFolder(Fixtures.Model("shipping"));
        foreach (var (name, tensor) in RawSafetensors.ReadFolder(output))
        {
            Assert.Equal(shipping[name].Data, tensor.Data);
        }
    }

    [Fact]
    public void Normalize_false_gives_the_weighted_sum()
    {
        using var temp = new TempFolder();
        var output = MergeRunner.Merge(temp, """
            merge_method: linear
            parameters:
              normalize: false
            models:
              - model: {models}/shipping
                parameters: {weight: 0.5}
              - model: {models}/refunds
                parameters: {weight: 0.25}
            dtype: float32
            """);

        var a = RawSafetensors.ReadFolder(Fixtures.Model("shipping"));
        var b = RawSafetensors.ReadFolder(Fixtures.Model("refunds"));
        foreach (var (name, tensor) in RawSafetensors.ReadFolder(output))
        {
            Assert.Equal("F32", tensor.DType);
            var x = a[name].AsFloats();
            var y = b[name].AsFloats();
            Assert.Equal(x.Select((_, i) => 0.5f * x[i] + 0.25f * y[i]), tensor.AsFloats());
        }
    }
}
