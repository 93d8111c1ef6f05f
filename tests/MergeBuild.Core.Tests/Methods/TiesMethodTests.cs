using MergeBuild.Diagnostics;
using MergeBuild.Methods;
using static MergeBuild.Core.Tests.Methods.MethodHarness;

namespace MergeBuild.Core.Tests.Methods;

public class TiesMethodTests
{
    private static float[] Zeros(int n) => new float[n];

    [Fact]
    public void Keeps_the_k_largest_magnitudes_and_breaks_ties_by_the_lower_index()
    {
        // k = ⌊0.5·6⌋ = 3: |3| first, then three 2s compete for two places: indices 2 and 3 win over 5.
        float[] d = [3, -1, 2, -2, 0.5f, 2];
        var output = MethodHarness.Run(new TiesMethod(), [new(d, P(("weight", 1), ("density", 0.5)))], Zeros(6));
        Assert.Equal([3f, 0f, 2f, -2f, 0f, 0f], output);
    }

    [Fact]
    public void K_is_the_truncated_double_product()
    {
        // 0.29 · 100 = 28.999999999999996 in double → k = 28: values 73..100 survive.
        var d = Enumerable.Range(1, 100).Select(i => (float)i).ToArray();
        var output = MethodHarness.Run(new TiesMethod(), [new(d, P(("weight", 1), ("density", 0.29)))], Zeros(100));
        Assert.Equal(d.Select(v => v >= 73 ? v : 0f), output);
    }

    [Fact]
    public void A_density_that_keeps_nothing_is_a_recipe_error_naming_the_tensor()
    {
        var error = Assert.Throws<MergeBuildException>(() => MethodHarness.Run(new TiesMethod(),
            [new([1, 2, 3, 4, 5], P(("weight", 1), ("density", 0.1)))], Zeros(5), tensorName: "model.norm.weight"));
        Assert.Equal(ErrorCodes.ParameterOutOfRange, error.Code);
        Assert.Contains("model.norm.weight", error.Message, StringComparison.Ordinal);
        Assert.Contains("0.1", error.Message, StringComparison.Ordinal);
    }

    // Two models, density 1, w0 = 0.5, w1 = 2 → v0 = 0.5·d0, v1 = 2·d1.
    private static readonly float[] D0 = [1, -2, 0, 3, -1, 2, 0, 0];
    private static readonly float[] D1 = [-1, 1, 0, -1, 2, -0.5f, -1, 1];

    private static float[] Elect(bool normalize, double lambda = 1) => MethodHarness.Run(new TiesMethod(),
        [new(D0, P(("weight", 0.5))), new(D1, P(("weight", 2)))], Zeros(D0.Length),
        P(("normalize", normalize ? 1 : 0), ("lambda", lambda)));

    [Fact]
    public void Sign_election_sums_weighted_deltas_and_divides_by_the_agreeing_weights()
    {
        // v0 = [0.5, −1, 0, 1.5, −0.5, 1, 0, 0], v1 = [−2, 2, 0, −2, 4, −1, −2, 2]
        // sums: −1.5 (−), 1 (+), 0 (+, nobody agrees → 0/1), −0.5 (−), 3.5 (+), 0 (tie → +: v0 = 1 over w0 = 0.5),
        // −2 (−: only v1; the zero v0 neither votes nor counts in the divisor), 2 (+: only v1).
        Assert.Equal([-1f, 1f, 0f, -1f, 2f, 2f, -1f, 1f], Elect(normalize: true));
    }

    [Fact]
    public void Without_normalize_the_agreeing_weighted_deltas_are_summed()
    {
        Assert.Equal([-2f, 2f, 0f, -2f, 4f, 1f, -2f, 2f], Elect(normalize: false));
    }

    [Fact]
    public void Lambda_applies_after_the_per_entry_normalisation()
    {
        Assert.Equal([-0.5f, 0.5f, 0f, -0.5f, 1f, 1f, -0.5f, 0.5f], Elect(normalize: true, lambda: 0.5));
    }

    [Fact]
    public void A_negative_weight_flips_the_models_vote()
    {
        // v0 = −1·2 = −2, v1 = 1·1 = 1: Σ = −1 elects −, so model 0 wins; divided by its weight −1 → +2.
        var output = MethodHarness.Run(new TiesMethod(),
            [new([12f], P(("weight", -1))), new([11f], P(("weight", 1)))], [10f], P(("normalize", 1)));
        Assert.Equal([12f], output);
        var raw = MethodHarness.Run(new TiesMethod(),
            [new([12f], P(("weight", -1))), new([11f], P(("weight", 1)))], [10f], P(("normalize", 0)));
        Assert.Equal([8f], raw);
    }

    [Fact]
    public void Sparsified_entries_do_not_vote()
    {
        // Model 0 keeps only its largest entry (k = 1 of 2), so at index 1 model 1 stands alone.
        var output = MethodHarness.Run(new TiesMethod(),
            [new([5f, -1f], P(("weight", 1), ("density", 0.5))), new([1f, 3f], P(("weight", 1), ("density", 1)))],
            [0f, 0f], P(("normalize", 1)));
        Assert.Equal([3f, 3f], output); // index 0: (5 + 1)/2; index 1: 3/1
    }

    [Fact]
    public void Rescale_matches_the_l1_norm_of_the_task_vector()
    {
        // keep 4 and 2 of [4, −1, 2, 1]: L1 8 → 6, factor 8/6.
        var output = MethodHarness.Run(new TiesMethod(), [new([4f, -1f, 2f, 1f], P(("weight", 1), ("density", 0.5)))],
            Zeros(4), P(("normalize", 1), ("rescale", 1)));
        var factor = 8f / 6f;
        Assert.Equal([4f * factor, 0f, 2f * factor, 0f], output);
    }

    [Fact]
    public void Int8_mask_changes_nothing()
    {
        Assert.Equal(Elect(normalize: true), MethodHarness.Run(new TiesMethod(),
            [new(D0, P(("weight", 0.5))), new(D1, P(("weight", 2)))], Zeros(D0.Length),
            P(("normalize", 1), ("int8_mask", 1))));
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(2.0)]
    [InlineData(-4.0)]
    public void With_density_one_and_one_model_ties_equals_base_plus_task_vector(double weight)
    {
        var random = new Random(11);
        var b = Enumerable.Range(0, 5000).Select(_ => (float)random.NextDouble()).ToArray();
        var x = b.Select((v, i) => i % 7 == 0 ? v : v + (float)(random.NextDouble() - 0.5)).ToArray();
        var ties = MethodHarness.Run(new TiesMethod(), [new(x, P(("weight", weight), ("density", 1)))], b,
            P(("normalize", 1)));
        var taskArithmetic = MethodHarness.Run(new TaskArithmeticMethod(), [new(x, P(("weight", 1)))], b,
            P(("normalize", 0)));
        for (var i = 0; i < b.Length; i++)
        {
            var d = x[i] - b[i];
            Assert.Equal(b[i] + d, ties[i]);
            Assert.Equal(taskArithmetic[i], ties[i]);
        }
    }

    [Fact]
    public void Selection_handles_many_equal_magnitudes_like_a_stable_sort()
    {
        // Reference: a full stable sort by |d| descending, written independently.
        var random = new Random(3);
        var d = Enumerable.Range(0, 20000).Select(_ => (float)(random.Next(-40, 41) / 8.0)).ToArray();
        var k = (int)(0.37 * d.Length);
        var kept = d.Select((v, i) => (Magnitude: Math.Abs(v), Index: i))
            .OrderByDescending(e => e.Magnitude).ThenBy(e => e.Index).Take(k).Select(e => e.Index).ToHashSet();
        var output = MethodHarness.Run(new TiesMethod(), [new(d, P(("weight", 1), ("density", 0.37)))],
            Zeros(d.Length));
        Assert.Equal(d.Select((v, i) => kept.Contains(i) ? v : 0f), output);
    }
}
