using MergeBuild.Core.Tests.Methods.Geometric;
using MergeBuild.Methods.Geometric;
using MergeBuild.Tests;
using static MergeBuild.Core.Tests.Methods.Geometric.DoubleReference;

namespace MergeBuild.Core.Tests.Execution;

public class GeometricMergeTests
{
    // The tensors the fixture README lists as taking slerp's lerp fallback in slerp-shipping-refunds-t0.5.
    private static readonly string[] LerpTensors =
    [
        "model.layers.0.input_layernorm.weight", "model.layers.0.post_attention_layernorm.weight",
        "model.layers.1.input_layernorm.weight", "model.layers.1.post_attention_layernorm.weight",
        "model.layers.2.input_layernorm.weight", "model.layers.2.post_attention_layernorm.weight",
        "model.layers.3.input_layernorm.weight", "model.layers.3.post_attention_layernorm.weight",
        "model.norm.weight",
    ];

    // A norm, an attention matrix and the head: compared against the double-precision formulas.
    private static readonly string[] Checked =
        ["model.norm.weight", "model.layers.1.self_attn.q_proj.weight", "lm_head.weight"];

    private static Dictionary<string, RawSafetensors.Tensor> Model(string name) =>
        RawSafetensors.ReadFolder(Fixtures.Model(name));

    [Fact]
    public void Slerp_of_shipping_and_refunds_is_within_one_bf16_ulp_of_the_reference_and_lerps_the_norms()
    {
        using var temp = new TempFolder();
        var output = MergeRunner.Merge(temp, """
            merge_method: slerp
            base_model: {models}/shipping
            models:
              - model: {models}/shipping
              - model: {models}/refunds
            parameters:
              t: 0.5
            """);

        var v0 = Model("shipping");
        var v1 = Model("refunds");
        var merged = RawSafetensors.ReadFolder(output);
        var reference = RawSafetensors.ReadFolder(Fixtures.ExpectedMerge("slerp-shipping-refunds-t0.5"));
        Assert.Equal(reference.Keys.Order(), merged.Keys.Order());
        foreach (var (name, expected) in reference)
        {
            var actual = merged[name];
            Assert.Equal("BF16", actual.DType);
            Assert.Equal(expected.Shape, actual.Shape);
            for (var i = 0; i < expected.Data.Length / 2; i++)
            {
                var distance = Math.Abs(Ordered(expected.Data, i) - Ordered(actual.Data, i));
                Assert.True(distance <= 1, $"{name}[{i}] is {distance} bf16 ulps from the reference");
            }
        }

        var discriminating = 0;
        foreach (var name in v0.Keys)
        {
            var a = v0[name].AsFloats();
            var b = v1[name].AsFloats();
            // The branch, decided independently in double: the 9 listed tensors and no other are colinear.
            var cos = Dot(ToDouble(a), ToDouble(b)) / (Norm(ToDouble(a)) * Norm(ToDouble(b)));
            Assert.Equal(LerpTensors.Contains(name), Math.Abs(cos) > SlerpMethod.DotThreshold);
            Assert.Equal(LerpTensors.Contains(name), SlerpMethod.Coefficients(0.5, a, b).Lerp);
            if (!LerpTensors.Contains(name))
            {
                continue;
            }

            // The lerp branch: 0.5·v0 + 0.5·v1 in float32, rounded once to bf16, bit for bit.
            var lerp = Bf16.Encode(a.Select((x, i) => 0.5f * x + 0.5f * b[i]));
            Assert.Equal(lerp, merged[name].Data);
            // The sine-weighted formula would have rounded some entries differently, so the check above can fail.
            var sine = Bf16.Encode(Slerp(0.5, ToDouble(a), ToDouble(b)).Select(x => (float)x));
            if (!sine.SequenceEqual(lerp))
            {
                discriminating++;
            }
        }

        Assert.True(discriminating > 0, "no norm tensor distinguishes the two branches");
    }

    [Fact]
    public void Nuslerp_of_task_vectors_matches_the_formula()
    {
        using var temp = new TempFolder();
        var output = MergeRunner.Merge(temp, """
            merge_method: nuslerp
            base_model: {models}/base
            models:
              - model: {models}/shipping
                parameters: {weight: 1}
              - model: {models}/refunds
                parameters: {weight: 3}
            dtype: float32
            """);

        // t = 3/(1+3); out = b + slerp(t, x1 − b, x2 − b) with the whole tensor as one vector.
        Compare(output, ["base", "shipping", "refunds"], x => Add(x[0], Slerp(0.75, Sub(x[1], x[0]), Sub(x[2], x[0]))));
    }

    [Fact]
    public void Multislerp_of_three_task_vectors_matches_the_formula()
    {
        using var temp = new TempFolder();
        var output = MergeRunner.Merge(temp, """
            merge_method: multislerp
            base_model: {models}/base
            models:
              - model: {models}/shipping
                parameters: {weight: 1}
              - model: {models}/refunds
                parameters: {weight: 1}
              - model: {models}/catalog
                parameters: {weight: 2}
            dtype: float32
            """);

        Compare(output, ["base", "shipping", "refunds", "catalog"], x => Multislerp(x[0], x[1..], [1, 1, 2]));
    }

    [Fact]
    public void Karcher_averages_the_unlisted_base_in_as_a_fourth_model()
    {
        using var temp = new TempFolder();
        var output = MergeRunner.Merge(temp, """
            merge_method: karcher
            base_model: {models}/base
            models:
              - model: {models}/shipping
              - model: {models}/refunds
              - model: {models}/catalog
            dtype: float32
            """);

        Compare(output, ["shipping", "refunds", "catalog", "base"], x => Karcher(x, 10, 1e-5));
    }

    [Fact]
    public void Model_stock_of_three_specialists_matches_the_formula()
    {
        using var temp = new TempFolder();
        var output = MergeRunner.Merge(temp, """
            merge_method: model_stock
            base_model: {models}/base
            models:
              - model: {models}/shipping
              - model: {models}/refunds
              - model: {models}/catalog
            dtype: float32
            """);

        Compare(output, ["base", "shipping", "refunds", "catalog"], x => ModelStock(x[0], x[1..]));
    }

    [Fact]
    public void Nearswap_in_bfloat16_rounds_like_torch_for_every_tensor()
    {
        using var temp = new TempFolder();
        var output = MergeRunner.Merge(temp, """
            merge_method: nearswap
            base_model: {models}/base
            models:
              - model: {models}/shipping
            parameters:
              t: 0.001
            """);

        var b = Model("base");
        var x = Model("shipping");
        var floor = Bf16.Round(1e-6f);
        var swapped = 0;
        foreach (var (name, tensor) in RawSafetensors.ReadFolder(output))
        {
            var bv = b[name].AsFloats();
            var xv = x[name].AsFloats();
            // torch in bf16: |b − x| rounded, floored; t / d is d.reciprocal() * t; every op rounded to bf16.
            var expected = bv.Select((_, i) =>
            {
                var d = Math.Max(Math.Abs(Bf16.Round(bv[i] - xv[i])), floor);
                var w = Math.Clamp(Bf16.Round(Bf16.Round(1 / d) * 0.001f), 0, 1);
                return Bf16.Round(Bf16.Round(w * xv[i]) + Bf16.Round(Bf16.Round(1 - w) * bv[i]));
            }).ToArray();
            Assert.Equal("BF16", tensor.DType);
            Assert.Equal(Bf16.Encode(expected), tensor.Data);
            swapped += expected.Where((v, i) => v != bv[i]).Count();
        }

        Assert.True(swapped > 0);
    }

    /// <summary>Every <see cref="Checked"/> tensor of a float32 merge against the formula applied in double.</summary>
    private static void Compare(string output, string[] models, Func<double[][], double[]> formula)
    {
        var inputs = models.Select(Model).ToArray();
        var merged = RawSafetensors.ReadFolder(output);
        foreach (var name in Checked)
        {
            var expected = formula(inputs.Select(m => ToDouble(m[name].AsFloats())).ToArray());
            var actual = merged[name];
            Assert.Equal("F32", actual.DType);
            var values = actual.AsFloats();
            var scale = expected.Max(Math.Abs);
            for (var i = 0; i < expected.Length; i++)
            {
                Assert.True(Math.Abs(values[i] - expected[i]) <= 2e-5 * scale,
                    $"{name}[{i}]: {values[i]} vs {expected[i]}");
            }
        }
    }

    /// <summary>A bf16 value's bits as an integer that is monotonic in the value (so ulps are differences).</summary>
    private static int Ordered(byte[] data, int index)
    {
        int bits = BitConverter.ToUInt16(data, 2 * index);
        return (bits & 0x8000) != 0 ? -(bits & 0x7FFF) : bits;
    }
}
