using MergeBuild.Methods.Geometric;
using MergeBuild.Tensors;
using MergeBuild.Tests;
using static MergeBuild.Core.Tests.Methods.MethodHarness;

namespace MergeBuild.Core.Tests.Methods.Geometric;

public class NearswapMethodTests
{
    private static readonly NearswapMethod Method = new();

    private static float[] Nearswap(float[] b, float[] x, double t, DType dtype = DType.F32, int? chunk = null) =>
        Run(Method, [new Input(x)], b, P(("t", t)), dtype: dtype, chunk: chunk);

    [Fact]
    public void Close_entries_take_the_model_and_distant_ones_mostly_keep_the_base()
    {
        // t = 0.1; |b − x| = 0.05, 0.2, 1, 0 → w = clamp(0.1/d) = 1, 0.5, 0.1, 1 (d floored at 1e-6).
        float[] b = [0, 0, 0, 1];
        float[] x = [0.05f, 0.2f, 1, 1];
        var result = Nearswap(b, x, 0.1);
        float W(float d) => Math.Clamp(1f / Math.Max(d, 1e-6f) * 0.1f, 0, 1);
        var expected = b.Select((_, i) => W(Math.Abs(b[i] - x[i])) * x[i] + (1 - W(Math.Abs(b[i] - x[i]))) * b[i]);
        Assert.Equal(expected, result);
        Assert.Equal([0.05f, 0.1f, 0.1f, 1f], result.Select(v => MathF.Round(v, 6)));
    }

    [Fact]
    public void T_zero_keeps_the_base()
    {
        Assert.Equal([1f, -2f, 3f], Nearswap([1, -2, 3], [5, 5, 5], 0));
    }

    [Fact]
    public void Tiny_differences_use_the_1e6_floor()
    {
        // d = 1e-7 is floored to 1e-6: w = 1e-8/1e-6 = 0.01, not 0.1.
        var x = 1 + 1.1920929e-7f;
        var result = Nearswap([1], [x], 1e-8);
        var w = 1f / 1e-6f * 1e-8f;
        Assert.Equal(w * x + (1 - w) * 1, result[0]);
    }

    [Fact]
    public void Bfloat16_rounds_every_op()
    {
        float[] b = [1, 0.5f, -2];
        float[] x = [1.5f, 0.5078125f, 2];
        const float t = 0.3f;
        var floor = Bf16.Round(1e-6f);
        var expected = b.Select((_, i) =>
        {
            var d = Math.Max(Math.Abs(Bf16.Round(b[i] - x[i])), floor);
            var w = Math.Clamp(Bf16.Round(Bf16.Round(1 / d) * t), 0, 1);
            return Bf16.Round(Bf16.Round(w * x[i]) + Bf16.Round(Bf16.Round(1 - w) * b[i]));
        });
        Assert.Equal(expected, Nearswap(b, x, 0.3, DType.BF16));
    }

    [Fact]
    public void Element_wise_so_chunking_does_not_matter()
    {
        var random = new Random(5);
        var b = Enumerable.Range(0, 50).Select(_ => (float)random.NextDouble()).ToArray();
        var x = Enumerable.Range(0, 50).Select(_ => (float)random.NextDouble()).ToArray();
        Assert.True(Method.IsElementwise);
        Assert.Equal(Nearswap(b, x, 0.05), Nearswap(b, x, 0.05, chunk: 7));
    }
}
