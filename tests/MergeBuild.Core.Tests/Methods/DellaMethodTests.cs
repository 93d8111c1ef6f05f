using MergeBuild.Diagnostics;
using MergeBuild.Methods;
using MergeBuild.Tensors;
using static MergeBuild.Core.Tests.Methods.MethodHarness;

namespace MergeBuild.Core.Tests.Methods;

public class DellaMethodTests
{
    private const string Tensor = "model.layers.0.mlp.up_proj.weight";
    private const ulong Seed = 1234;

    private static float[] Deltas(int n, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() + 0.1) * (random.Next(2) * 2 - 1)).ToArray();
    }

    /// <summary>Reference keep mask, written from the formula: ranks per row by a stable sort, float32 ramp.</summary>
    private static bool[] ExpectedKeep(float[] d, int rows, int columns, double density, double epsilon, int model = 0)
    {
        var keep = new bool[d.Length];
        var random = new CounterRandom(Seed, model, Tensor);
        for (var r = 0; r < rows; r++)
        {
            // Rank 1 = smallest |d|; among equal magnitudes the higher index ranks lower.
            var order = Enumerable.Range(0, columns)
                .OrderBy(c => Math.Abs(d[r * columns + c])).ThenByDescending(c => c).ToArray();
            for (var position = 0; position < columns; position++)
            {
                var index = r * columns + order[position];
                var norm = columns == 1 ? float.NaN : position / (float)(columns - 1);
                var p = columns == 1 ? (float)density : (float)(density - epsilon) + norm * 2f * (float)epsilon;
                keep[index] = random.Uniform(index) < p;
            }
        }

        return keep;
    }

    [Fact]
    public void Keep_probability_ramps_with_the_magnitude_rank_within_each_row()
    {
        var d = Deltas(8 * 50, 1);
        var output = MethodHarness.Run(new DellaLinearMethod(),
            [new(d, P(("weight", 1), ("density", 0.5), ("epsilon", 0.2)))], new float[d.Length],
            P(("rescale", 0)), shape: [8, 50], tensorName: Tensor, seed: Seed);
        var keep = ExpectedKeep(d, 8, 50, 0.5, 0.2);
        Assert.Equal(d.Select((v, i) => keep[i] ? v : 0f), output);
    }

    [Fact]
    public void Large_magnitudes_survive_more_often_than_small_ones()
    {
        // 20000 rows of 5: p = 0.3, 0.4, 0.5, 0.6, 0.7 by rank; check the extremes statistically (5 sd).
        const int rows = 20000;
        var d = Enumerable.Range(0, rows * 5).Select(i => (float)(i % 5 + 1)).ToArray();
        var output = MethodHarness.Run(new DellaLinearMethod(),
            [new(d, P(("weight", 1), ("density", 0.5), ("epsilon", 0.2)))], new float[d.Length],
            P(("rescale", 0)), shape: [rows, 5], tensorName: Tensor, seed: 5);
        foreach (var (rank, p) in new[] { (1, 0.3), (3, 0.5), (5, 0.7) })
        {
            var kept = Enumerable.Range(0, rows).Count(r => output[r * 5 + rank - 1] != 0);
            var sd = Math.Sqrt(rows * p * (1 - p));
            Assert.InRange(kept, rows * p - 5 * sd, rows * p + 5 * sd);
        }
    }

    [Fact]
    public void Della_rescales_and_elects_signs_by_default()
    {
        var d0 = Deltas(4 * 30, 2);
        var d1 = Deltas(4 * 30, 3);
        var output = MethodHarness.Run(new DellaMethod(),
            [new(d0, P(("weight", 1), ("density", 0.6), ("epsilon", 0.1))), new(d1, P(("weight", 0.5), ("density", 0.4), ("epsilon", 0.3)))],
            new float[d0.Length], shape: [4, 30], tensorName: Tensor, seed: Seed);
        float[] Sparse(float[] d, double density, double epsilon, int m)
        {
            var keep = ExpectedKeep(d, 4, 30, density, epsilon, m);
            var masked = d.Select((v, i) => keep[i] ? v : 0f).ToArray();
            var factor = (float)d.Sum(v => Math.Abs((double)v)) / (float)masked.Sum(v => Math.Abs((double)v));
            return masked.Select(v => v * factor).ToArray();
        }

        var v0 = Sparse(d0, 0.6, 0.1, 0);
        var v1 = Sparse(d1, 0.4, 0.3, 1).Select(v => v * 0.5f).ToArray();
        for (var i = 0; i < d0.Length; i++)
        {
            var sign = v0[i] + v1[i] >= 0 ? 1 : -1;
            var (sum, weights) = (0f, 0f);
            if (Math.Sign(v0[i]) == sign)
            {
                (sum, weights) = (v0[i], 1f);
            }

            if (Math.Sign(v1[i]) == sign)
            {
                (sum, weights) = (sum + v1[i], weights + 0.5f);
            }

            Assert.Equal(sum / (weights == 0 ? 1f : weights), output[i]);
        }
    }

    [Theory]
    [InlineData(0.9, 0.15)]
    [InlineData(0.1, 0.1)]
    [InlineData(0.2, 0.5)]
    public void Density_and_epsilon_must_keep_the_ramp_inside_zero_one(double density, double epsilon)
    {
        var error = Assert.Throws<MergeBuildException>(() => MethodHarness.Run(new DellaMethod(),
            [new([1, 2, 3], P(("weight", 1), ("density", density), ("epsilon", epsilon)))], new float[3],
            tensorName: Tensor));
        Assert.Equal(ErrorCodes.ParameterOutOfRange, error.Code);
        Assert.Contains(Tensor, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Density_zero_and_one_skip_the_ramp_check()
    {
        float[] x = [3, 4, 5];
        float[] b = [1, 1, 1];
        Assert.Equal(b, MethodHarness.Run(new DellaMethod(), [new(x, P(("weight", 1), ("density", 0), ("epsilon", 0.15)))], b));
        Assert.Equal(x, MethodHarness.Run(new DellaMethod(), [new(x, P(("weight", 1), ("density", 1), ("epsilon", 0.15)))], b));
    }

    [Fact]
    public void Rows_of_one_entry_use_the_density_and_vectors_are_one_row()
    {
        var d = Deltas(300, 4);
        var column = MethodHarness.Run(new DellaLinearMethod(),
            [new(d, P(("weight", 1), ("density", 0.3), ("epsilon", 0.1)))], new float[300], P(("rescale", 0)),
            shape: [300, 1], tensorName: Tensor, seed: Seed);
        var keepColumn = ExpectedKeep(d, 300, 1, 0.3, 0.1);
        Assert.Equal(d.Select((v, i) => keepColumn[i] ? v : 0f), column);

        var vector = MethodHarness.Run(new DellaLinearMethod(),
            [new(d, P(("weight", 1), ("density", 0.3), ("epsilon", 0.1)))], new float[300], P(("rescale", 0)),
            shape: [300], tensorName: Tensor, seed: Seed);
        var keepVector = ExpectedKeep(d, 1, 300, 0.3, 0.1);
        Assert.Equal(d.Select((v, i) => keepVector[i] ? v : 0f), vector);
    }

    [Fact]
    public void Rank_three_tensors_rank_along_dim_one()
    {
        // Shape [2, 3, 2]: lines (a, c) over b. Transpose to rows of 3 for the reference.
        var d = Deltas(12, 6);
        var output = MethodHarness.Run(new DellaLinearMethod(),
            [new(d, P(("weight", 1), ("density", 0.5), ("epsilon", 0.4)))], new float[12], P(("rescale", 0)),
            shape: [2, 3, 2], tensorName: Tensor, seed: Seed);
        var random = new CounterRandom(Seed, 0, Tensor);
        for (var a = 0; a < 2; a++)
        {
            for (var c = 0; c < 2; c++)
            {
                var line = Enumerable.Range(0, 3).Select(b => a * 6 + b * 2 + c).ToArray();
                var order = line.OrderBy(i => Math.Abs(d[i])).ToArray();
                for (var rank = 0; rank < 3; rank++)
                {
                    var index = order[rank];
                    var p = (float)(0.5 - 0.4) + rank / 2f * 2f * 0.4f;
                    Assert.Equal(random.Uniform(index) < p ? d[index] : 0f, output[index]);
                }
            }
        }
    }

    [Fact]
    public void Bfloat16_rounds_the_ramp()
    {
        // One row of 3 in bf16: p = bf16(0.35) + bf16(bf16(norm·2)·0.25) → bf16(0.349609375 + {0, 0.25, 0.5}).
        var d = Enumerable.Range(0, 3).Select(i => Bf16Value(i + 1)).ToArray();
        var output = MethodHarness.Run(new DellaLinearMethod(),
            [new(d, P(("weight", 1), ("density", 0.6), ("epsilon", 0.25)))], new float[3], P(("rescale", 0)),
            shape: [3], dtype: DType.BF16, tensorName: Tensor, seed: Seed);
        var low = MergeBuild.Tests.Bf16.Round(0.35f);
        float[] p = [low, MergeBuild.Tests.Bf16.Round(low + 0.25f), MergeBuild.Tests.Bf16.Round(low + 0.5f)];
        var random = new CounterRandom(Seed, 0, Tensor);
        Assert.Equal(d.Select((v, i) => random.Uniform(i) < p[i] ? v : 0f), output);
    }

    private static float Bf16Value(int i) => MergeBuild.Tests.Bf16.Round(i * 0.1f);
}
