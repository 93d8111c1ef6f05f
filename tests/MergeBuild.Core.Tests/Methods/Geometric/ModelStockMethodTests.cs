using MergeBuild.Methods.Geometric;
using MergeBuild.Tensors;
using MergeBuild.Tests;
using static MergeBuild.Core.Tests.Methods.MethodHarness;

namespace MergeBuild.Core.Tests.Methods.Geometric;

public class ModelStockMethodTests
{
    private static readonly ModelStockMethod Method = new();

    private static float[] ModelStock(float[] baseValues, float[][] xs, bool filterWise = false, long[]? shape = null,
        DType dtype = DType.F32) =>
        Run(Method, xs.Select(x => new Input(x, P(("weight", 5)))).ToList(), baseValues,
            P(("filter_wise", filterWise ? 1 : 0)), shape, dtype);

    private static void Near(double[] expected, float[] actual, int digits = 5)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], actual[i], digits);
        }
    }

    private static double T(int n, double cos) => n * cos / (1 + (n - 1) * cos);

    [Fact]
    public void Two_models_at_45_degrees()
    {
        // Offsets (1, 0) and (1, 1): cos = 1/sqrt 2, t = 2cos/(1+cos); out = t·mean + (1−t)·b.
        var t = T(2, Math.Sqrt(0.5));
        Near([t * 2 + (1 - t), t * 1.5 + (1 - t)], ModelStock([1, 1], [[2, 1], [2, 2]]));
    }

    [Fact]
    public void Three_models_average_the_pairwise_cosines()
    {
        // Offsets e0, e1, (1, 1): cosines 0, 1/sqrt 2, 1/sqrt 2 → mean sqrt(2)/3; mean of the models (2/3, 2/3).
        var t = T(3, Math.Sqrt(2) / 3);
        Near([t * 2 / 3, t * 2 / 3], ModelStock([0, 0], [[1, 0], [0, 1], [1, 1]]));
    }

    [Fact]
    public void Filter_wise_computes_t_per_row()
    {
        float[] x1 = [1, 0, 1, 0];
        float[] x2 = [1, 1, 0, 1];
        // Row 0: offsets (1, 0), (1, 1) → t(cos 45°). Row 1: (1, 0), (0, 1) → cos 0 → t = 0 → the base (zeros).
        var t = T(2, Math.Sqrt(0.5));
        Near([t, t * 0.5, 0, 0], ModelStock([0, 0, 0, 0], [x1, x2], filterWise: true, shape: [2, 2]));
        // Over the whole tensor: cos = 1/(sqrt 2·sqrt 3).
        var flat = T(2, 1 / Math.Sqrt(6));
        Near([flat, flat * 0.5, flat * 0.5, flat * 0.5], ModelStock([0, 0, 0, 0], [x1, x2], shape: [2, 2]));
    }

    [Fact]
    public void Filter_wise_treats_a_vector_as_one_row()
    {
        float[] b = [0, 0, 0];
        float[][] xs = [[1, 0, 2], [1, 1, 0]];
        Assert.Equal(ModelStock(b, xs), ModelStock(b, xs, filterWise: true));
    }

    [Fact]
    public void Opposite_task_vectors_keep_the_base_instead_of_dividing_by_zero()
    {
        // cos = −1 with N = 2: 1 + (N−1)·cos = 0. mergekit writes NaN; MergeBuild takes t = 0.
        Assert.Equal([1f, 1f], ModelStock([1, 1], [[2, 1], [0, 1]]));
    }

    [Fact]
    public void Zero_offsets_keep_the_base()
    {
        // ‖o‖ = 0: the norm product is clamped to 1e-6, cos = 0, t = 0.
        Assert.Equal([3f, -1f], ModelStock([3, -1], [[3, -1], [3, -1]]));
    }

    [Fact]
    public void Bfloat16_rounds_every_op()
    {
        // Offsets (1, 0) and (1, 1) from b = 0: cos = bf16(1 / bf16(1·bf16(sqrt 2))) and so on, rounded per op.
        var n2 = Bf16.Round(MathF.Sqrt(2));
        var cos = Bf16.Round(1 / Bf16.Round(1 * n2));
        var t = Bf16.Round(Bf16.Round(2 * cos) / Bf16.Round(1 + Bf16.Round(1 * cos)));
        var mean = new[] { Bf16.Round(Bf16.Round(1 + 1) / 2), Bf16.Round(Bf16.Round(0 + 1) / 2) };
        var keep = Bf16.Round(1 - t);
        var expected = mean.Select(m => Bf16.Round(Bf16.Round(t * m) + Bf16.Round(keep * 0))).ToArray();
        Assert.Equal(expected, ModelStock([0, 0], [[1, 0], [1, 1]], dtype: DType.BF16));
    }
}
