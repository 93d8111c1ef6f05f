using MergeBuild.Methods.Misc;
using MergeBuild.Tensors;
using static MergeBuild.Core.Tests.Methods.MethodHarness;

namespace MergeBuild.Core.Tests.Methods;

public class ArceeFusionMethodTests
{
    private static float[] Run(float[] b, float[] x, long[] shape, DType dtype = DType.F32) =>
        MethodHarness.Run(new ArceeFusionMethod(), [new Input(x)], b, shape: shape, dtype: dtype);

    [Fact]
    public void One_dimensional_quantiles_use_the_truncated_index_of_the_sorted_scores()
    {
        // One row: I = K·|x| with one KL value K > 0, so the threshold is K·(Q(½) + 1.5·(Q(¾) − Q(¼))).
        // n − 1 = 7: indices int(1.75) = 1, int(3.5) = 3, int(5.25) = 5 → values 2, 4, 6 → threshold 4 + 1.5·4 = 10.
        // Linear interpolation (torch.quantile) would give 9.75 and nearest-rank 9.5, both keeping 9.9.
        var b = new float[8];
        var output = Run(b, [1, 2, 3, 4, 5, 6, 7, 9.9f], [8]);
        Assert.Equal(new float[8], output);

        var kept = Run(b, [1, 2, 3, 4, 5, 6, 7, 10.5f], [8]);
        Assert.Equal([0f, 0, 0, 0, 0, 0, 0, 10.5f], kept);
    }

    [Fact]
    public void Two_dimensional_tensors_weigh_each_row_by_its_own_kl_divergence()
    {
        // Row 0 changes the softmax (KL K > 0); row 1 shifts all logits equally, so its softmax — and KL — is 0.
        // I = [K, K, K, 4K, 0, 0, 0, 0]; sorted, indices 1, 3, 5 give 0, 0, K → threshold 1.5K: only 4K passes,
        // although row 1's differences (1) equal row 0's first three.
        var b = new float[8];
        float[] x = [1, 1, 1, 4, 1, 1, 1, 1];
        Assert.Equal([0f, 0, 0, 4, 0, 0, 0, 0], Run(b, x, [2, 4]));

        // The same values as one row: one KL for all, quantiles of |x| → [1,1,1,1,1,1,1,4]·K, threshold K: all kept.
        Assert.Equal(x, Run(b, x, [8]));
    }

    [Fact]
    public void Scores_equal_to_the_threshold_are_kept()
    {
        // Every score equal (one row, equal |x − b|): Q(¼) = Q(½) = Q(¾) = I, threshold I, all kept.
        float[] b = [0, 0, 0, 0];
        float[] x = [1, -1, 1, -1];
        Assert.Equal(x, Run(b, x, [4]));
    }

    [Fact]
    public void Zero_task_vector_gives_the_base()
    {
        float[] b = [0.5f, -1, 2, 3];
        Assert.Equal(b, Run(b, (float[])b.Clone(), [2, 2]));
    }

    [Fact]
    public void The_output_is_the_float32_sum_of_the_base_and_the_bfloat16_difference()
    {
        // One changed entry (every other score 0, so the threshold is 0 and the entry is kept). In bf16 the
        // difference 1 − 3·2⁻¹⁰ rounds to 1 − 2⁻⁸; mergekit's mask is a float32 tensor, so b + Δ is a float32 sum
        // (0.9990234375), neither x (1) nor a bf16 value.
        var small = 3f / 1024;
        var b = Enumerable.Repeat(small, 8).ToArray();
        var x = b.Select((v, e) => e == 7 ? 1f : v).ToArray();
        var output = Run(b, x, [8], DType.BF16);

        var delta = BFloat16.Round(1f - small);
        Assert.Equal(1f - 1f / 256, delta);
        Assert.Equal(b[..7], output[..7]);
        Assert.Equal(small + delta, output[7]);
        Assert.Equal(0.9990234375f, output[7]);
    }
}
