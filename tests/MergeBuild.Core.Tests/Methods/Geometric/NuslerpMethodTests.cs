using MergeBuild.Methods.Geometric;
using MergeBuild.Tensors;
using MergeBuild.Tests;
using static MergeBuild.Core.Tests.Methods.MethodHarness;

namespace MergeBuild.Core.Tests.Methods.Geometric;

public class NuslerpMethodTests
{
    private static readonly NuslerpMethod Method = new();
    private static readonly double H = Math.Sqrt(0.5);

    private static float[] Nuslerp(float[] x1, float[] x2, double w1 = 1, double w2 = 1, float[]? baseValues = null,
        bool flatten = true, bool rowWise = false, long[]? shape = null, DType dtype = DType.F32) =>
        Run(Method, [new Input(x1, P(("weight", w1))), new Input(x2, P(("weight", w2)))], baseValues,
            P(("nuslerp_flatten", flatten ? 1 : 0), ("nuslerp_row_wise", rowWise ? 1 : 0)), shape, dtype);

    private static void Near(double[] expected, float[] actual, int digits = 6)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], actual[i], digits);
        }
    }

    [Fact]
    public void Equal_weights_interpolate_half_way()
    {
        Near([H, H], Nuslerp([1, 0], [0, 1]));
    }

    [Fact]
    public void T_is_the_second_weight_over_the_sum()
    {
        // w = 1, 3 → t = 0.75; θ = 90°: (sin(22.5°)·v0 + sin(67.5°)·v1) / sin 90°, v's unnormalised.
        Near([2 * Math.Sin(Math.PI / 8), 2 * Math.Sin(3 * Math.PI / 8)], Nuslerp([2, 0], [0, 2], 1, 3));
        Assert.Equal(0.75, NuslerpMethod.Factor(1, 3));
    }

    [Fact]
    public void Weights_summing_to_zero_give_t_one_half()
    {
        Assert.Equal(0.5, NuslerpMethod.Factor(1, -1));
        Assert.Equal(0.5, NuslerpMethod.Factor(2e-7, 3e-7));
        Near([H, H], Nuslerp([1, 0], [0, 1], 1, -1));
    }

    [Fact]
    public void With_a_base_the_task_vectors_are_interpolated_and_the_base_added_back()
    {
        Near([1 + H, 1 + H], Nuslerp([2, 1], [1, 2], baseValues: [1, 1]));
    }

    [Fact]
    public void Colinear_vectors_are_lerped()
    {
        // θ = 0, sin θ = 0 < 1e-8: (1−t)·v0 + t·v1 with t = 0.25.
        Assert.Equal([1.25f, 0f], Nuslerp([1, 0], [2, 0], 3, 1));
    }

    [Fact]
    public void Small_angles_still_take_the_sine_formula_unlike_slerp()
    {
        // cos θ ≈ 0.99995 would make slerp lerp; nuslerp has no such threshold.
        float[] v1 = [1, 0.01f];
        var result = Nuslerp([1, 0], v1);
        var theta = Math.Acos(1 / Math.Sqrt(1 + 0.01 * 0.01));
        var s = Math.Sin(theta / 2) / Math.Sin(theta);
        Near([s * 2, s * v1[1]], result, 5);
        Assert.NotEqual(0.005f, result[1]);
    }

    [Fact]
    public void Without_flattening_each_row_along_the_last_dim_is_one_vector()
    {
        // Row 0: e0 vs e1 → (h, h). Row 1: e0 vs 2·e0, colinear → lerp (1.5, 0).
        float[] x1 = [1, 0, 1, 0];
        float[] x2 = [0, 1, 2, 0];
        Near([H, H, 1.5, 0], Nuslerp(x1, x2, flatten: false, shape: [2, 2]));
        // Flattened, the same numbers are one pair of vectors with cos θ = 2/sqrt(10), another result entirely.
        var flat = Nuslerp(x1, x2, shape: [2, 2]);
        var theta = Math.Acos(2 / Math.Sqrt(10));
        var s = Math.Sin(theta / 2) / Math.Sin(theta);
        Near([s * 1, s * 1, s * 3, 0], flat, 5);
    }

    [Fact]
    public void Row_wise_interpolates_the_slices_along_dim_0()
    {
        // Column 0: (1, 0) vs (0, 1) → (h, h). Column 1: (1, 0) vs (2, 0) → lerp (1.5, 0).
        float[] x1 = [1, 1, 0, 0];
        float[] x2 = [0, 2, 1, 0];
        Near([H, 1.5, H, 0], Nuslerp(x1, x2, flatten: false, rowWise: true, shape: [2, 2]));
    }

    [Fact]
    public void Row_wise_is_ignored_when_flattening()
    {
        float[] x1 = [1, 1, 0, 0];
        float[] x2 = [0, 2, 1, 0];
        Assert.Equal(Nuslerp(x1, x2, shape: [2, 2]), Nuslerp(x1, x2, rowWise: true, shape: [2, 2]));
    }

    [Fact]
    public void Bfloat16_rounds_every_torch_op()
    {
        // cos θ = 0: θ = bf16(acos 0) = 1.5703125; sin θ = bf16(0.9999997) = 1; (1−t)·θ = 0.78515625;
        // bf16(sin 0.78515625) = 0.70703125; out = bf16(0.70703125·1 + 0) / 1.
        var theta = Bf16.Round((float)Math.Acos(0));
        Assert.Equal(1.5703125f, theta);
        var sinTheta = Bf16.Round((float)Math.Sin(theta));
        var s = Bf16.Round((float)Math.Sin(Bf16.Round(0.5f * theta)));
        var expected = Bf16.Round(Bf16.Round(s * 1) / sinTheta);
        Assert.Equal(0.70703125f, expected);
        Assert.Equal([expected, expected], Nuslerp([1, 0], [0, 1], dtype: DType.BF16));
    }

    [Fact]
    public void Equal_weights_equal_slerp_at_one_half()
    {
        var random = new Random(3);
        var x1 = Enumerable.Range(0, 64).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        var x2 = Enumerable.Range(0, 64).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        var nuslerp = Nuslerp(x1, x2, 0.7, 0.7);
        var slerp = Run(new SlerpMethod(), [new Input(x2)], x1, P(("t", 0.5)));
        for (var i = 0; i < x1.Length; i++)
        {
            Assert.Equal(slerp[i], nuslerp[i], 5);
        }
    }
}
