using MergeBuild.Methods.Misc;
using MergeBuild.Tensors;
using static MergeBuild.Core.Tests.Methods.MethodHarness;

namespace MergeBuild.Core.Tests.Methods;

public class SceMethodTests
{
    private static readonly SceMethod Sce = new();

    private static float[] Run(float[] b, double selectTopK, DType dtype, params float[][] taskVectors) =>
        MethodHarness.Run(Sce,
            taskVectors.Select(t => new Input(t.Select((v, e) => b[e] + v).ToArray())).ToList(),
            b, P(("select_topk", selectTopK), ("int8_mask", 0)), dtype: dtype);

    [Fact]
    public void Without_selection_agreeing_task_vectors_are_averaged_with_their_mean_square_weights()
    {
        float[] b = [1, 1, 1, 1];
        float[] t1 = [1, -2, 0, 3];
        float[] t2 = [3, 2, -1, -1];
        var output = Run(b, 1.0, DType.F32, t1, t2);

        // mean(τ₁²) = 14/4, mean(τ₂²) = 15/4, sum 7.25.
        var w1 = 3.5f / 7.25f;
        var w2 = 3.75f / 7.25f;
        // e0: both positive; e1: Σ = 0 elects +1, only model 2 agrees; e2: Σ < 0, model 2; e3: Σ > 0, model 1.
        float[] expected = [1 + (w1 * 1 + w2 * 3) / (w1 + w2), 1 + 2, 1 - 1, 1 + 3];
        Assert.Equal(expected, output);
    }

    [Fact]
    public void Select_topk_keeps_the_entries_of_largest_variance()
    {
        float[] b = [0.5f, 0.5f, 0.5f, 0.5f];
        // Population variances over the two models: ((a − c)/2)² = 1, 4, 0.25, 4; k = int(4 · 0.5) = 2 keeps e1, e3.
        var output = Run(b, 0.5, DType.F32, [1, -2, 0, 3], [3, 2, -1, -1]);

        // Masked τ₁ = [0, −2, 0, 3], τ₂ = [0, 2, 0, −1]: e1 elects + (Σ = 0) → model 2; e3 → model 1, as ω₁τ/ω₁
        // in float32 with ω₁ = (13/4)/(13/4 + 5/4) (not exactly 3).
        var w1 = 3.25f / 4.5f;
        var w2 = 1.25f / 4.5f;
        Assert.Equal([0.5f, 0.5f + 2 * w2 / w2, 0.5f, 0.5f + 3 * w1 / w1], output);
        Assert.NotEqual(3.5f, output[3]);
    }

    [Fact]
    public void The_weights_are_the_mean_squares_of_the_masked_task_vectors()
    {
        float[] b = [0, 0, 0];
        // Variances 4, 0.25, 1; k = int(3 · 0.67) = 2 keeps e0 and e2: masked τ₁ = [4, 0, 1], τ₂ = [0, 0, 3].
        var output = Run(b, 0.67, DType.F32, [4, 1, 1], [0, 2, 3]);

        // ω from the masked vectors: 17/3 and 9/3 (unmasked they would be 18/3 and 13/3, giving 57/31 at e2).
        var w1 = 17f / 26f;
        var w2 = 9f / 26f;
        Assert.Equal(4f, output[0]);
        Assert.Equal(0f, output[1]);
        Assert.Equal((w1 * 1 + w2 * 3) / (w1 + w2), output[2], 1e-6f);
        Assert.NotEqual(57f / 31f, output[2], 1e-3f);
    }

    [Fact]
    public void Ties_at_the_variance_threshold_go_to_the_lower_index()
    {
        float[] b = [0, 0, 0, 0];
        // Variances 1, 1, 1, 0: three non-zero; k = int(3 · 0.5) = 1 keeps e0, int(3 · 0.7) = 2 keeps e0 and e1.
        Assert.Equal([2f, 0, 0, 0], Run(b, 0.5, DType.F32, [2, 2, 2, 0], [0, 0, 0, 0]));
        Assert.Equal([2f, 2, 0, 0], Run(b, 0.7, DType.F32, [2, 2, 2, 0], [0, 0, 0, 0]));
    }

    [Fact]
    public void K_is_computed_in_float32_like_torch()
    {
        // 100 distinct variances: float32(100) · float32(0.29) = 29.0 exactly after rounding, where double
        // arithmetic gives 28.999999999999996 → 28.
        var b = new float[100];
        var t1 = Enumerable.Range(1, 100).Select(v => (float)v).ToArray();
        var output = Run(b, 0.29, DType.F32, t1, new float[100]);

        Assert.Equal(28, (int)(100 * 0.29));
        var kept = output.Select((v, e) => (v, e)).Where(p => p.v != 0).Select(p => p.e).ToArray();
        Assert.Equal(Enumerable.Range(71, 29), kept);
        Assert.All(kept, e => Assert.Equal(t1[e], output[e]));
    }

    [Fact]
    public void Select_topk_of_one_keeps_everything_even_when_the_variances_are_zero()
    {
        float[] b = [1, 2];
        // Identical task vectors: every variance is zero, so any selection would keep nothing.
        Assert.Equal([2f, 1], Run(b, 1.0, DType.F32, [1, -1], [1, -1]));
    }

    [Fact]
    public void Nothing_selected_returns_the_base()
    {
        // k = int(0 · 0.5) = 0: mergekit emits a [n_models, …] tensor here; MergeBuild returns the base.
        float[] b = [1, 2];
        Assert.Equal(b, Run(b, 0.5, DType.F32, [1, -1], [1, -1]));
    }

    [Fact]
    public void Mean_squares_summing_under_1e6_fall_back_to_uniform_weights()
    {
        float[] b = [0, 0];
        // mean(τ₁²) = 1e-8, mean(τ₂²) = 5e-8: their sum is under 1e-6.
        float[] s1 = [1e-4f, 1e-4f];
        float[] s2 = [3e-4f, -1e-4f];
        var output = Run(b, 1.0, DType.F32, s1, s2);

        // Σ mean(τ²) = 6e-8 < 1e-6 → ω = ½, ½. e0: both agree, (½s₁ + ½s₂)/1; e1: Σ = 0 elects +, only model 1.
        Assert.Equal([(0.5f * s1[0] + 0.5f * s2[0]) / 1f, 0.5f * s1[1] / 0.5f], output);

        // The same shape of vectors above the threshold is weighted by mean square: ω₁ = 1/6, ω₂ = 5/6.
        var large = Run(b, 1.0, DType.F32, [0.1f, 0.1f], [0.3f, -0.1f]);
        Assert.Equal(0.1f * (1 / 6f) / 1f + 0.3f * (5 / 6f), large[0], 1e-6f);
        Assert.NotEqual(0.2f, large[0], 1e-3f);
    }

    [Fact]
    public void Zero_task_vectors_give_the_base()
    {
        float[] b = [1, -2, 3];
        Assert.Equal(b, Run(b, 1.0, DType.F32, [0, 0, 0], [0, 0, 0]));
        Assert.Equal(b, Run(b, 1.0, DType.F32, [0, 0, 0]));
    }

    [Fact]
    public void Bfloat16_rounds_the_weights_and_every_step()
    {
        float[] b = [0, 0];
        float[] t1 = [1, 1];
        float[] t2 = [2, 2];
        var output = Run(b, 1.0, DType.BF16, t1, t2);

        // ω = 1/5, 4/5 rounded to bf16; each product and the weight sum rounded to bf16.
        var w1 = BFloat16.Round(1f / 5f);
        var w2 = BFloat16.Round(4f / 5f);
        var mixed = BFloat16.Round(BFloat16.Round(w1 * 1) + BFloat16.Round(w2 * 2));
        var expected = BFloat16.Round(mixed / BFloat16.Round(w1 + w2));
        Assert.Equal([expected, expected], output);
    }
}
