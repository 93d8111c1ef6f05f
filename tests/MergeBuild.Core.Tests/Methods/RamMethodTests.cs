using MergeBuild.Methods;
using MergeBuild.Methods.Misc;
using MergeBuild.Tensors;
using static MergeBuild.Core.Tests.Methods.MethodHarness;

namespace MergeBuild.Core.Tests.Methods;

public class RamMethodTests
{
    private static float[] Run(IMergeMethod method, float[] b, Dictionary<string, double> parameters, DType dtype,
        params float[][] taskVectors) =>
        MethodHarness.Run(method,
            taskVectors.Select(t => new Input(t.Select((v, e) => b[e] + v).ToArray())).ToList(),
            b, parameters, dtype: dtype);

    private static float[] Ram(float[] b, double epsilon, DType dtype, params float[][] taskVectors) =>
        Run(new RamMethod(), b, P(("epsilon", epsilon)), dtype, taskVectors);

    private static float[] RamPlus(float[] b, double r, double alpha, double epsilon, DType dtype,
        params float[][] taskVectors) =>
        Run(new RamPlusTensorLocalMethod(), b, P(("r", r), ("alpha", alpha), ("epsilon", epsilon)), dtype, taskVectors);

    // τ₁, τ₂, τ₃ over five entries: contributions c = 2, 1, 0, 3, 0 (1e-6 is under the default ε).
    private static readonly float[][] Three =
    [
        [1, 2, 0, 4, 1e-6f],
        [3, 0, 0, -2, 0],
        [0, 0, 0, 1, 0],
    ];

    private static readonly float[] Ten = [10, 10, 10, 10, 10];

    [Fact]
    public void Ram_takes_unique_entries_whole_and_averages_shared_ones()
    {
        var output = Ram(Ten, 1e-5, DType.F32, Three);
        Assert.Equal([10 + (1f / 2 + 3f / 2), 12, 10, 10 + (4f / 3 + -2f / 3 + 1f / 3), 10], output);
    }

    [Fact]
    public void Ram_epsilon_decides_what_counts_as_a_contribution()
    {
        // ε = 1.5: τ₁[0] = 1 and τ₃[3] = 1 no longer count; e0 becomes unique to model 2, e3 shared by two.
        var output = Ram(Ten, 1.5, DType.F32, Three);
        Assert.Equal([13f, 12, 10, 10 + (4f / 2 + -2f / 2), 10], output);

        // ε = 0: any non-zero entry counts, so the 1e-6 survives.
        Assert.Equal(10 + 1e-6f, Ram(Ten, 0, DType.F32, Three)[4]);
    }

    [Fact]
    public void Ram_compares_with_epsilon_rounded_to_the_compute_dtype()
    {
        // v = bf16(1e-5) = 1.0013580322265625e-5 exceeds float32(1e-5) but not bf16(1e-5).
        var v = BFloat16.Round(1e-5f);
        Assert.True(v > 1e-5f);
        float[] b = [0];
        Assert.Equal(v / 2 + v / 2, Ram(b, 1e-5, DType.F32, [v], [v])[0]);
        Assert.Equal(0f, Ram(b, 1e-5, DType.BF16, [v], [v])[0]);
    }

    [Fact]
    public void Ram_rounds_shared_terms_and_the_result_to_bfloat16()
    {
        float[] b = [1];
        var output = Ram(b, 1e-5, DType.BF16, [1], [0.5f], [0.25f]);
        var expected = BFloat16.Round(1 + BFloat16.Round(BFloat16.Round(1f / 3) + BFloat16.Round(0.5f / 3) +
            BFloat16.Round(0.25f / 3)));
        Assert.Equal([expected], output);
    }

    [Fact]
    public void Zero_task_vectors_give_the_base()
    {
        float[] b = [1, -2, 3];
        Assert.Equal(b, Ram(b, 1e-5, DType.F32, [0, 0, 0], [0, 0, 0]));
        Assert.Equal(b, RamPlus(b, 0.1, 0.2, 1e-5, DType.F32, [0, 0, 0], [0, 0, 0]));
    }

    [Fact]
    public void RamPlus_boosts_unique_entries_by_the_clamped_shared_to_unique_ratio()
    {
        // Model 1: shared {e0, e3}, unique {e1} → ρ = 2; model 2: shared 2, unique 0 → ρ = 2/ε; model 3: ρ = 1/ε.
        // Default α = 0.2 caps every ρ: λ = 1 + 0.1 · 0.2.
        var output = RamPlus(Ten, 0.1, 0.2, 1e-5, DType.F32, Three);
        var lambda = 1f + 0.1f * 0.2f;
        Assert.Equal([10 + (1f / 2 + 3f / 2), 10 + 2 * lambda, 10, 10 + (4f / 3 + -2f / 3 + 1f / 3), 10], output);

        // r = 0.5, α = 10: λ₁ = 1 + 0.5 · 2 = 2.
        Assert.Equal(10 + 2 * 2f, RamPlus(Ten, 0.5, 10, 1e-5, DType.F32, Three)[1]);
    }

    [Fact]
    public void RamPlus_ratio_under_alpha_is_used_as_is()
    {
        float[] b = [0, 0, 0, 0, 0];
        // Model 1: shared 1, unique 4 → ρ = 0.25 (< α = 1) → λ = 1 + 1 · 0.25.
        var output = RamPlus(b, 1, 1, 1e-5, DType.F32, [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]);
        Assert.Equal([1f / 2 + 1f / 2, 1.25f, 1.25f, 1.25f, 1.25f], output);

        // r = 0 switches the boost off: plain RAM.
        Assert.Equal(Ram(b, 1e-5, DType.F32, [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]),
            RamPlus(b, 0, 1, 1e-5, DType.F32, [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]));
    }

    [Fact]
    public void RamPlus_epsilon_also_floors_the_unique_count()
    {
        float[] b = [0, 0, 0];
        // ε = 2: entries must exceed 2 to count, and the unique count is clamped to at least 2:
        // model 1 has shared 1, unique 1 → ρ = 1 / max(1, 2) = 0.5 (not 1) → λ = 1 + 1 · 0.5.
        var output = RamPlus(b, 1, 1, 2, DType.F32, [5, 5, 1], [5, 0, 0]);
        Assert.Equal([5f / 2 + 5f / 2, 5 * 1.5f, 0], output);
    }

    [Fact]
    public void RamPlus_unique_terms_and_the_result_stay_float32()
    {
        // mergekit's λ is a float32 tensor, so b + τ·λ is not rounded to bf16 (bf16(2.02) would be 2.015625);
        // the shared terms τ/c are bf16 divisions.
        float[] b = [1, 1];
        var output = RamPlus(b, 0.1, 0.2, 1e-5, DType.BF16, [1, 0.5f], [0, 0.25f]);
        var lambda = 1f + 0.1f * 0.2f;
        Assert.Equal([1 + 1 * lambda, 1 + (BFloat16.Round(0.5f / 2) + BFloat16.Round(0.25f / 2))], output);
        Assert.NotEqual(BFloat16.Round(output[0]), output[0]);
    }
}
