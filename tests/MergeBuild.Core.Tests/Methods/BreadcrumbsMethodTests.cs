using MergeBuild.Methods;
using static MergeBuild.Core.Tests.Methods.MethodHarness;

namespace MergeBuild.Core.Tests.Methods;

public class BreadcrumbsMethodTests
{
    // |d| = 1..10 in a shuffled order, with mixed signs.
    private static readonly float[] D = [7, -2, 10, 4, -9, 1, 5, -8, 3, 6];

    private static float[] Crumbs(double density, double gamma, params (string, double)[] parameters) =>
        MethodHarness.Run(new BreadcrumbsMethod(), [new(D, P(("weight", 1), ("density", density), ("gamma", gamma)))],
            new float[D.Length], P(parameters));

    private static float[] KeepMagnitudes(int low, int high) =>
        D.Select(v => Math.Abs(v) >= low && Math.Abs(v) <= high ? v : 0f).ToArray();

    [Fact]
    public void Drops_the_gamma_largest_and_the_smallest_down_to_density()
    {
        // target 5, n_top = 2, n_bot = 3: magnitudes 4..8 survive.
        Assert.Equal(KeepMagnitudes(4, 8), Crumbs(0.5, 0.2));
    }

    [Fact]
    public void Removes_fewer_outliers_when_density_leaves_no_room()
    {
        // target 9, n_top 2 → n_bot = −1 → n_top = 1, n_bot = 0: everything but the largest.
        Assert.Equal(KeepMagnitudes(1, 9), Crumbs(0.9, 0.2));
    }

    [Fact]
    public void With_no_outlier_to_remove_the_largest_entries_are_kept()
    {
        // ⌊0.05·10⌋ = 0: mergekit's empty slice would drop everything; MergeBuild keeps the top 5.
        Assert.Equal(KeepMagnitudes(6, 10), Crumbs(0.5, 0.05));
        Assert.Equal(KeepMagnitudes(6, 10), Crumbs(0.5, 0));
    }

    [Fact]
    public void Density_one_ignores_gamma()
    {
        Assert.Equal(D, Crumbs(1, 0.3));
    }

    [Fact]
    public void Density_zero_keeps_nothing()
    {
        Assert.Equal(new float[D.Length], Crumbs(0, 0.2));
    }

    [Fact]
    public void Rescale_and_lambda_and_weights_apply()
    {
        // Kept 4..8 (L1 30 of 55): ×55/30, then weight 2 with normalize true (divides it back), lambda 3.
        var output = MethodHarness.Run(new BreadcrumbsMethod(),
            [new(D, P(("weight", 2), ("density", 0.5), ("gamma", 0.2)))], new float[D.Length],
            P(("rescale", 1), ("normalize", 1), ("lambda", 3)));
        var factor = 55f / 30f;
        Assert.Equal(KeepMagnitudes(4, 8).Select(v => 2f * (v * factor) / 2f * 3f), output);
    }

    [Fact]
    public void Equal_magnitudes_at_both_cuts_rank_the_lower_index_as_larger()
    {
        // All magnitudes equal: ranks follow the index (index 0 largest). n_top = 2, keep 4: indices 2..5.
        float[] d = [1, -1, 1, -1, 1, -1, 1, -1, 1, -1];
        var output = MethodHarness.Run(new BreadcrumbsMethod(),
            [new(d, P(("weight", 1), ("density", 0.4), ("gamma", 0.2)))], new float[10]);
        Assert.Equal(d.Select((v, i) => i is >= 2 and < 6 ? v : 0f), output);
    }

    [Fact]
    public void Breadcrumbs_ties_elects_signs_after_sparsifying()
    {
        // Model 0: d = D (keeps 4..8 magnitudes); model 1: −D with density 1 (untouched).
        // Where model 0 kept an entry the sum is 0 → + wins; otherwise model 1 decides alone. normalize default false.
        var negated = D.Select(v => -v).ToArray();
        var output = MethodHarness.Run(new BreadcrumbsTiesMethod(),
            [new(D, P(("weight", 1), ("density", 0.5), ("gamma", 0.2))), new(negated, P(("weight", 1), ("density", 1)))],
            new float[D.Length]);
        var kept = KeepMagnitudes(4, 8);
        Assert.Equal(D.Select((v, i) => kept[i] != 0 ? Math.Abs(v) : -v), output);
    }
}
