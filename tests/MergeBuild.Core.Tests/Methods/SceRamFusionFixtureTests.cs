using MergeBuild.Core.Tests.Execution;
using MergeBuild.Diagnostics;
using MergeBuild.Execution;
using MergeBuild.Tests;

namespace MergeBuild.Core.Tests.Methods;

/// <summary>
/// sce, ram, ramplus_tl and arcee_fusion end to end on the fixture models, checked against straightforward
/// float32 implementations of the formulas written here, plus the thread-count invariance of each.
/// </summary>
public class SceRamFusionFixtureTests
{
    private static readonly string[] Specialists = ["shipping", "refunds", "catalog"];

    private static readonly string[] Checked =
    [
        "model.embed_tokens.weight",
        "model.layers.0.self_attn.q_proj.weight",
        "model.layers.3.mlp.down_proj.weight",
        "model.norm.weight",
    ];

    private static string Recipe(string method, string parameters, params string[] models) =>
        $"""
        merge_method: {method}
        base_model: {"{models}"}/base
        {parameters}
        models:
        {string.Join("\n", models.Select(m => $"  - model: {"{models}"}/{m}"))}
        dtype: float32
        """;

    private static (float[] Base, float[][] Models, Dictionary<string, RawSafetensors.Tensor> Merged) Load(
        string output, string name, string[] models)
    {
        var merged = RawSafetensors.ReadFolder(output);
        var b = RawSafetensors.ReadFolder(Fixtures.Model("base"))[name].AsFloats();
        var xs = models.Select(m => RawSafetensors.ReadFolder(Fixtures.Model(m))[name].AsFloats()).ToArray();
        return (b, xs, merged);
    }

    [Fact]
    public void Sce_with_select_topk_matches_an_independent_computation()
    {
        using var temp = new TempFolder();
        var output = MergeRunner.Merge(temp, Recipe("sce", "parameters: {select_topk: 0.3}", Specialists));
        foreach (var name in Checked)
        {
            var (b, xs, merged) = Load(output, name, Specialists);
            Assert.Equal("F32", merged[name].DType);
            var actual = merged[name].AsFloats();
            Assert.Equal(Sce(b, xs, 0.3), actual);
            Assert.NotEqual(b, actual);
        }
    }

    [Fact]
    public void Ram_matches_an_independent_computation()
    {
        using var temp = new TempFolder();
        var output = MergeRunner.Merge(temp, Recipe("ram", "", Specialists));
        foreach (var name in Checked)
        {
            var (b, xs, merged) = Load(output, name, Specialists);
            Assert.Equal(Ram(b, xs, 1e-5f, 0, 0), merged[name].AsFloats());
        }
    }

    [Fact]
    public void RamPlus_matches_an_independent_computation()
    {
        using var temp = new TempFolder();
        var output = MergeRunner.Merge(temp, Recipe("ramplus_tl", "parameters: {r: 0.5, alpha: 0.3}", Specialists));
        var boosted = 0;
        foreach (var name in Checked)
        {
            var (b, xs, merged) = Load(output, name, Specialists);
            var actual = merged[name].AsFloats();
            Assert.Equal(Ram(b, xs, 1e-5f, 0.5f, 0.3f), actual);
            var plain = Ram(b, xs, 1e-5f, 0, 0);
            boosted += actual.Where((v, e) => v != plain[e]).Take(1).Count();
        }

        // model.norm.weight has no entry changed by only one specialist, so there RAM+ equals RAM; elsewhere not.
        Assert.Equal(Checked.Length - 1, boosted);
    }

    [Fact]
    public void ArceeFusion_matches_an_independent_computation_on_matrices_and_vectors()
    {
        using var temp = new TempFolder();
        var output = MergeRunner.Merge(temp, Recipe("arcee_fusion", "", "shipping"));
        int taken = 0, kept = 0;
        foreach (var name in Checked)
        {
            var (b, xs, merged) = Load(output, name, ["shipping"]);
            var shape = merged[name].Shape;
            var actual = merged[name].AsFloats();
            Assert.Equal(Fusion(b, xs[0], (int)shape[^1]), actual);
            taken += actual.Where((v, e) => v == xs[0][e] && v != b[e]).Count();
            kept += actual.Where((v, e) => v == b[e] && v != xs[0][e]).Count();
        }

        // Some changed entries take the specialist's value, most keep the base's.
        Assert.InRange(taken, 1, kept - 1);
    }

    [Fact]
    public void ArceeFusion_takes_exactly_one_model_besides_the_base()
    {
        using var temp = new TempFolder();
        Assert.Throws<MergeBuildException>(() => MergeRunner.Plan(temp, Recipe("arcee_fusion", "", "shipping", "refunds")));
    }

    [Theory]
    [InlineData("sce", "parameters: {select_topk: 0.5}")]
    [InlineData("ram", "")]
    [InlineData("ramplus_tl", "")]
    [InlineData("arcee_fusion", "")]
    public void Output_is_identical_for_one_two_and_eight_threads(string method, string parameters)
    {
        using var temp = new TempFolder();
        var models = method == "arcee_fusion" ? ["refunds"] : Specialists;
        var recipe = Recipe(method, parameters, models);
        var outputs = new[] { 1, 2, 8 }
            .Select(t => RawSafetensors.ReadFolder(MergeRunner.Merge(temp, recipe,
                new MergeOptions { Threads = t, ChunkElements = 4096, WriteModelCard = false }, $"out{t}")))
            .ToArray();
        foreach (var (name, tensor) in outputs[0])
        {
            Assert.Equal(tensor.Data, outputs[1][name].Data);
            Assert.Equal(tensor.Data, outputs[2][name].Data);
        }
    }

    // --- Independent float32 implementations (whole-tensor sums in double, like the engine documents) ---

    private static float[] Sce(float[] b, float[][] xs, double selectTopK)
    {
        var n = xs.Length;
        var len = b.Length;
        var tau = xs.Select(x => x.Select((v, e) => v - b[e]).ToArray()).ToArray();
        if (selectTopK < 1)
        {
            var variance = Enumerable.Range(0, len).Select(e =>
            {
                var mean = tau.Average(t => (double)t[e]);
                return (float)(tau.Sum(t => (t[e] - mean) * (t[e] - mean)) / n);
            }).ToArray();
            var k = (int)(variance.Count(v => v != 0) * (float)selectTopK);
            if (k == 0)
            {
                return b;
            }

            var keep = Enumerable.Range(0, len).OrderByDescending(e => variance[e]).ThenBy(e => e).Take(k).ToHashSet();
            foreach (var t in tau)
            {
                for (var e = 0; e < len; e++)
                {
                    t[e] = keep.Contains(e) ? t[e] : 0;
                }
            }
        }

        var meanSquares = tau.Select(t => (float)t.Sum(v => (double)(v * v)) / len).ToArray();
        var total = 0f;
        foreach (var m in meanSquares)
        {
            total += m;
        }

        var w = meanSquares.Select(m => Math.Abs(total) < 1e-6 ? 1f / n : m / total).ToArray();
        var result = new float[len];
        for (var e = 0; e < len; e++)
        {
            var sum = 0f;
            foreach (var t in tau)
            {
                sum += t[e];
            }

            var sign = sum >= 0 ? 1 : -1;
            float mixed = 0, divisor = 0;
            for (var i = 0; i < n; i++)
            {
                if (Math.Sign(tau[i][e]) == sign)
                {
                    mixed += tau[i][e] * w[i];
                    divisor += w[i];
                }
            }

            result[e] = b[e] + mixed / Math.Max(divisor, 1e-6f);
        }

        return result;
    }

    /// <summary>RAM, or RAM+ when <paramref name="r"/> is non-zero.</summary>
    private static float[] Ram(float[] b, float[][] xs, float epsilon, float r, float alpha)
    {
        var len = b.Length;
        var tau = xs.Select(x => x.Select((v, e) => v - b[e]).ToArray()).ToArray();
        var counts = Enumerable.Range(0, len).Select(e => tau.Count(t => Math.Abs(t[e]) > epsilon)).ToArray();
        var lambda = tau.Select(t =>
        {
            var shared = Enumerable.Range(0, len).Count(e => Math.Abs(t[e]) > epsilon && counts[e] > 1);
            var unique = Enumerable.Range(0, len).Count(e => Math.Abs(t[e]) > epsilon && counts[e] == 1);
            var rho = shared == 0 ? 0f : shared / Math.Max(unique, epsilon);
            return 1f + r * Math.Min(Math.Max(rho, 0f), alpha);
        }).ToArray();

        var result = new float[len];
        for (var e = 0; e < len; e++)
        {
            var sum = 0f;
            for (var i = 0; i < tau.Length; i++)
            {
                if (Math.Abs(tau[i][e]) > epsilon)
                {
                    sum += counts[e] == 1 ? tau[i][e] * lambda[i] : tau[i][e] / counts[e];
                }
            }

            result[e] = b[e] + sum;
        }

        return result;
    }

    private static float[] Fusion(float[] b, float[] x, int rowLength)
    {
        var len = b.Length;
        var importance = new float[len];
        for (var start = 0; start < len; start += rowLength)
        {
            var p = Softmax(x.AsSpan(start, rowLength));
            var q = Softmax(b.AsSpan(start, rowLength));
            var kl = (float)Enumerable.Range(0, rowLength).Sum(j => (double)(p[j] * MathF.Log(p[j] / q[j])));
            for (var j = start; j < start + rowLength; j++)
            {
                importance[j] = Math.Abs(x[j] - b[j]) * kl;
            }
        }

        var sorted = importance.Order().ToArray();
        float Q(float f) => sorted[(int)(f * (float)(len - 1))];
        var threshold = Q(0.5f) + 1.5f * (Q(0.75f) - Q(0.25f));
        return Enumerable.Range(0, len).Select(e => importance[e] >= threshold ? b[e] + (x[e] - b[e]) : b[e]).ToArray();
    }

    private static float[] Softmax(ReadOnlySpan<float> row)
    {
        var max = float.NegativeInfinity;
        foreach (var v in row)
        {
            max = Math.Max(max, v);
        }

        var exp = new float[row.Length];
        double sum = 0;
        for (var j = 0; j < row.Length; j++)
        {
            exp[j] = MathF.Exp(row[j] - max);
            sum += exp[j];
        }

        var scale = 1f / (float)sum;
        return exp.Select(v => v * scale + 1e-8f).ToArray();
    }
}
