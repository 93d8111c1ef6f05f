using MergeBuild.Methods;
using MergeBuild.Tensors;
using static MergeBuild.Core.Tests.Methods.MethodHarness;

namespace MergeBuild.Core.Tests.Methods;

public class DareMethodTests
{
    private const string Tensor = "model.layers.0.mlp.up_proj.weight";
    private const ulong Seed = 1234;

    private static float[] Deltas(int n, int seed)
    {
        // Non-zero task vectors so every kept entry is visible in the output.
        var random = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() + 0.25) * (random.Next(2) * 2 - 1)).ToArray();
    }

    private static bool Kept(int model, int index, double p) => new CounterRandom(Seed, model, Tensor).Uniform(index) < p;

    [Fact]
    public void Dare_linear_keeps_entries_whose_draw_is_below_the_density()
    {
        var d0 = Deltas(500, 1);
        var d1 = Deltas(500, 2);
        var output = MethodHarness.Run(new DareLinearMethod(),
            [new(d0, P(("weight", 0.5), ("density", 0.4))), new(d1, P(("weight", -1), ("density", 0.7)))],
            new float[500], P(("rescale", 0), ("normalize", 0)), tensorName: Tensor, seed: Seed);
        for (var i = 0; i < 500; i++)
        {
            var v0 = Kept(0, i, (float)0.4) ? 0.5f * d0[i] : 0f;
            var v1 = Kept(1, i, (float)0.7) ? -1f * d1[i] : 0f;
            Assert.Equal(0f + (v0 + v1), output[i]);
        }
    }

    [Fact]
    public void Normalize_divides_by_the_sum_of_all_weights_whatever_was_dropped()
    {
        var d0 = Deltas(200, 3);
        var d1 = Deltas(200, 4);
        var output = MethodHarness.Run(new DareLinearMethod(),
            [new(d0, P(("weight", 0.75), ("density", 0.5))), new(d1, P(("weight", 0.25), ("density", 0.5)))],
            new float[200], P(("rescale", 0), ("normalize", 1)), tensorName: Tensor, seed: Seed);
        for (var i = 0; i < 200; i++)
        {
            var v0 = Kept(0, i, 0.5) ? 0.75f * d0[i] : 0f;
            var v1 = Kept(1, i, 0.5) ? 0.25f * d1[i] : 0f;
            Assert.Equal((v0 + v1) / 1f, output[i]);
        }
    }

    [Fact]
    public void Rescale_is_l1_norm_matching_per_model_not_one_over_density()
    {
        var d = Deltas(1000, 5);
        var output = MethodHarness.Run(new DareLinearMethod(), [new(d, P(("weight", 1), ("density", 0.3)))],
            new float[1000], P(("normalize", 0)), tensorName: Tensor, seed: Seed); // rescale defaults to true
        var masked = d.Select((v, i) => Kept(0, i, (float)0.3) ? v : 0f).ToArray();
        var before = (float)d.Sum(v => Math.Abs((double)v));
        var after = (float)masked.Sum(v => Math.Abs((double)v));
        var factor = before / after;
        Assert.NotEqual(1f / 0.3f, factor);
        Assert.Equal(masked.Select(v => v * factor), output);
    }

    [Fact]
    public void Dare_ties_elects_signs_on_the_sparsified_rescaled_deltas()
    {
        var d0 = Deltas(300, 6);
        var d1 = Deltas(300, 7);
        var output = MethodHarness.Run(new DareTiesMethod(),
            [new(d0, P(("weight", 1), ("density", 0.5))), new(d1, P(("weight", 1), ("density", 0.5)))],
            new float[300], P(("normalize", 1)), tensorName: Tensor, seed: Seed);
        float[] Sparse(float[] d, int m)
        {
            var masked = d.Select((v, i) => Kept(m, i, 0.5) ? v : 0f).ToArray();
            var factor = (float)d.Sum(v => Math.Abs((double)v)) / (float)masked.Sum(v => Math.Abs((double)v));
            return masked.Select(v => v * factor).ToArray();
        }

        var s0 = Sparse(d0, 0);
        var s1 = Sparse(d1, 1);
        for (var i = 0; i < 300; i++)
        {
            var sign = s0[i] + s1[i] >= 0 ? 1 : -1;
            var sum = 0f;
            var weights = 0f;
            foreach (var v in new[] { s0[i], s1[i] })
            {
                if (Math.Sign(v) == sign)
                {
                    sum += v;
                    weights += 1f;
                }
            }

            Assert.Equal(sum / (weights == 0 ? 1f : weights), output[i]);
        }
    }

    [Fact]
    public void Keeps_about_density_of_the_entries_within_a_binomial_bound()
    {
        const int n = 200_000;
        const double density = 0.3;
        var d = Enumerable.Repeat(1f, n).ToArray();
        var output = MethodHarness.Run(new DareLinearMethod(), [new(d, P(("weight", 1), ("density", density)))],
            new float[n], P(("rescale", 0)), tensorName: Tensor, seed: 99);
        var kept = output.Count(v => v != 0);
        var sd = Math.Sqrt(n * density * (1 - density));
        Assert.InRange(kept, n * density - 5 * sd, n * density + 5 * sd);
    }

    [Fact]
    public void In_bfloat16_the_keep_probability_is_the_rounded_density()
    {
        // bf16(0.3) = 0.30078125: entries drawn in [0.3, 0.30078125) are kept in bf16 but not in float32.
        const int n = 100_000;
        var d = Enumerable.Repeat(1f, n).ToArray();
        var between = Enumerable.Range(0, n).Where(i =>
        {
            var u = new CounterRandom(Seed, 0, Tensor).Uniform(i);
            return u >= (float)0.3 && u < 0.30078125;
        }).ToList();
        Assert.NotEmpty(between);
        var bf16 = MethodHarness.Run(new DareLinearMethod(), [new(d, P(("weight", 1), ("density", 0.3)))],
            new float[n], P(("rescale", 0)), dtype: DType.BF16, tensorName: Tensor, seed: Seed);
        var f32 = MethodHarness.Run(new DareLinearMethod(), [new(d, P(("weight", 1), ("density", 0.3)))],
            new float[n], P(("rescale", 0)), dtype: DType.F32, tensorName: Tensor, seed: Seed);
        Assert.All(between, i => Assert.Equal(1f, bf16[i]));
        Assert.All(between, i => Assert.Equal(0f, f32[i]));
    }

    [Fact]
    public void Density_zero_keeps_nothing_and_density_one_keeps_everything()
    {
        var d = Deltas(100, 8);
        var b = Enumerable.Range(0, 100).Select(i => (float)i).ToArray();
        var x = d.Select((v, i) => b[i] + v).ToArray();
        Assert.Equal(b, MethodHarness.Run(new DareLinearMethod(), [new(x, P(("weight", 1), ("density", 0)))], b,
            tensorName: Tensor));
        var full = MethodHarness.Run(new DareTiesMethod(), [new(x, P(("weight", 1), ("density", 1)))], b,
            tensorName: Tensor);
        Assert.Equal(x.Select((v, i) => b[i] + (v - b[i])), full);
    }

    [Fact]
    public void The_mask_depends_on_the_seed()
    {
        var d = Deltas(1000, 9);
        MethodHarness.Input[] inputs = [new(d, P(("weight", 1), ("density", 0.5)))];
        var a = MethodHarness.Run(new DareLinearMethod(), inputs, new float[1000], tensorName: Tensor, seed: 1);
        var b = MethodHarness.Run(new DareLinearMethod(), inputs, new float[1000], tensorName: Tensor, seed: 2);
        Assert.NotEqual(a, b);
        Assert.False(new DareLinearMethod().IsElementwise);
    }
}
