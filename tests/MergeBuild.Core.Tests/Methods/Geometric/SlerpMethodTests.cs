using MergeBuild.Methods.Geometric;
using MergeBuild.Tensors;
using MergeBuild.Tests;
using static MergeBuild.Core.Tests.Methods.MethodHarness;

namespace MergeBuild.Core.Tests.Methods.Geometric;

public class SlerpMethodTests
{
    private static readonly SlerpMethod Method = new();

    private static float[] Slerp(float[] v0, float[] v1, double t, DType dtype = DType.F32) =>
        Run(Method, [new Input(v1)], v0, P(("t", t)), dtype: dtype);

    [Fact]
    public void Orthogonal_unit_vectors_at_half_way_get_sin_45_degrees_each()
    {
        var h = (float)Math.Sqrt(0.5);
        var result = Slerp([1, 0], [0, 1], 0.5);
        Assert.Equal(h, result[0], 6);
        Assert.Equal(h, result[1], 6);
    }

    [Fact]
    public void Coefficients_apply_to_the_unnormalised_vectors()
    {
        // θ = 90°, t = 0.25: s0 = sin(67.5°), s1 = sin(22.5°), applied to v0 = 3·e0 and v1 = 4·e1.
        var result = Slerp([3, 0], [0, 4], 0.25);
        Assert.Equal(3 * Math.Sin(3 * Math.PI / 8), result[0], 5);
        Assert.Equal(4 * Math.Sin(Math.PI / 8), result[1], 5);
    }

    [Fact]
    public void An_angle_below_the_threshold_takes_the_sine_weighted_branch()
    {
        // cos θ = 0.999 < 0.9995: slerp proper, which differs from the lerp (0.5·v0 + 0.5·v1) in the 4th digit.
        var theta = Math.Acos(0.999);
        float[] v1 = [(float)Math.Cos(theta), (float)Math.Sin(theta)];
        var result = Slerp([1, 0], v1, 0.5);
        var s = Math.Sin(theta / 2) / Math.Sin(theta);
        Assert.Equal(s * (1 + v1[0]), result[0], 6);
        Assert.Equal(s * v1[1], result[1], 6);
        Assert.NotEqual(0.5f * 1 + 0.5f * v1[0], result[0]);
    }

    [Fact]
    public void Nearly_colinear_vectors_fall_back_to_the_lerp_of_the_originals()
    {
        // cos θ = 1/sqrt(1.0001) ≈ 0.99995 > 0.9995: (1−t)·v0 + t·v1 in float32, bit for bit.
        float[] v0 = [1, 0];
        float[] v1 = [1, 0.01f];
        var result = Slerp(v0, v1, 0.3);
        Assert.Equal([0.7f * v0[0] + 0.3f * v1[0], 0.7f * v0[1] + 0.3f * v1[1]], result);
    }

    [Fact]
    public void Antiparallel_vectors_lerp_too()
    {
        // |cos θ| = 1 also means "colinear" in mergekit's test: the mid point of e0 and −e0 is the origin.
        Assert.Equal([0f, 0f], Slerp([1, 0], [-1, 0], 0.5));
    }

    [Fact]
    public void A_zero_vector_is_not_normalised()
    {
        // ‖v0‖ = 0 ≤ 1e-8: v0 stays zero, cos θ = 0, θ = 90°, out = sin(45°)·v0 + sin(45°)·v1.
        var result = Slerp([0, 0], [0, 2], 0.5);
        Assert.Equal(0f, result[0]);
        Assert.Equal(2 * Math.Sqrt(0.5), result[1], 6);
    }

    [Fact]
    public void The_float32_result_is_rounded_to_the_compute_dtype()
    {
        var result = Slerp([1, 0], [0, 1], 0.5, DType.BF16);
        // sin(45°) = 0.70710677 in float32; the nearest bfloat16 is 0.70703125.
        Assert.Equal([0.70703125f, 0.70703125f], result);
    }

    [Theory]
    [InlineData(DType.F32)]
    [InlineData(DType.BF16)]
    public void T_zero_and_one_return_the_endpoints_bit_for_bit(DType dtype)
    {
        var random = new Random(7);
        var v0 = Enumerable.Range(0, 257).Select(_ => Bf16.Round((float)(random.NextDouble() - 0.5))).ToArray();
        var v1 = Enumerable.Range(0, 257).Select(_ => Bf16.Round((float)(random.NextDouble() - 0.5))).ToArray();
        v0[3] = -0f;
        v1[5] = -0f;
        Assert.Equal(Bits(v0), Bits(Slerp(v0, v1, 0, dtype)));
        Assert.Equal(Bits(v1), Bits(Slerp(v0, v1, 1, dtype)));
    }

    [Theory]
    [InlineData(0.1)]
    [InlineData(0.5)]
    [InlineData(0.77)]
    public void Slerp_of_a_vector_with_itself_is_the_vector(double t)
    {
        var random = new Random(11);
        var v = Enumerable.Range(0, 100).Select(_ => Bf16.Round((float)(random.NextDouble() * 4 - 2))).ToArray();
        // In bf16 the float32 lerp (1−t)·v + t·v, off by at most a float32 ulp, rounds back to v exactly.
        Assert.Equal(Bits(v), Bits(Slerp(v, v, t, DType.BF16)));
        var f32 = Slerp(v, v, t);
        for (var i = 0; i < v.Length; i++)
        {
            Assert.True(Math.Abs(f32[i] - v[i]) <= 2 * MathF.BitIncrement(Math.Abs(v[i])) - 2 * Math.Abs(v[i]),
                $"element {i}: {f32[i]} vs {v[i]}");
        }
    }

    [Fact]
    public void The_default_compute_dtype_is_the_base_models()
    {
        Assert.Equal(DType.F16, Method.DefaultComputeDType([DType.BF16], DType.F16));
        Assert.False(Method.IsElementwise);
    }

    private static uint[] Bits(float[] values) => values.Select(BitConverter.SingleToUInt32Bits).ToArray();
}
