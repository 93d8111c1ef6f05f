using MergeBuild.Diagnostics;
using MergeBuild.Methods.Geometric;
using static MergeBuild.Core.Tests.Methods.MethodHarness;

namespace MergeBuild.Core.Tests.Methods.Geometric;

public class MultislerpMethodTests
{
    private static readonly MultislerpMethod Method = new();
    private static readonly double H = Math.Sqrt(0.5);

    private static float[] Multislerp(float[][] xs, double[] weights, float[]? baseValues = null,
        bool normalize = true, double eps = 1e-8) =>
        Run(Method, xs.Select((x, i) => new Input(x, P(("weight", weights[i])))).ToList(), baseValues,
            P(("normalize_weights", normalize ? 1 : 0), ("eps", eps)));

    private static void Near(double[] expected, float[] actual, int digits = 5)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], actual[i], digits);
        }
    }

    [Fact]
    public void Two_orthogonal_unit_vectors_meet_half_way()
    {
        Near([H, H], Multislerp([[1, 0], [0, 1]], [1, 1]));
    }

    [Fact]
    public void The_direction_is_the_weighted_mean_of_the_unit_vectors_and_the_length_the_weighted_mean_norm()
    {
        // Units e0, e1 with weights 1/4, 3/4 → direction (1, 3)/sqrt(10); norms 2 and 4 → length 0.25·2 + 0.75·4 = 3.5.
        var d = Math.Sqrt(10);
        Near([3.5 / d, 3.5 * 3 / d], Multislerp([[2, 0], [0, 4]], [1, 3]));
    }

    [Fact]
    public void Unnormalised_weights_scale_the_length_by_their_sum()
    {
        // Weights 1, 1 unnormalised: the direction is the same (1, 1)/sqrt 2, the length 1·2 + 1·4 = 6.
        Near([6 * H, 6 * H], Multislerp([[2, 0], [0, 4]], [1, 1], normalize: false));
    }

    [Fact]
    public void With_a_base_the_task_vectors_are_combined_and_the_base_added_back()
    {
        Near([1 + 3 * H, 1 + 3 * H], Multislerp([[3, 1], [1, 5]], [1, 1], baseValues: [1, 1]));
    }

    [Fact]
    public void Eps_enters_the_unit_vectors_and_the_tangent_norm()
    {
        // eps = 0.5: u = τ/(‖τ‖+0.5) = (0.8, 0), (0, 8/9); m = normalise(0.5·u0 + 0.5·u1) (‖·‖ = 0.6 ≥ eps); the
        // tangent sum is 0, so ‖T‖' = 0 + 0.5 and the result is m·cos(0.5) scaled by the mean norm 3.
        var mx = 0.4;
        var my = 4.0 / 9;
        var len = Math.Sqrt(mx * mx + my * my);
        Near([3 * Math.Cos(0.5) * mx / len, 3 * Math.Cos(0.5) * my / len], Multislerp([[2, 0], [0, 4]], [1, 1], eps: 0.5));
    }

    [Fact]
    public void A_mean_shorter_than_eps_counts_as_cancelled()
    {
        // eps = 1: the mean of the shrunken unit vectors (0.33, 0.4) is shorter than 1, so two models are lerped.
        Assert.Equal([1f, 2f], Multislerp([[2, 0], [0, 4]], [1, 1], eps: 1));
    }

    [Fact]
    public void A_single_model_is_returned_unchanged()
    {
        Assert.Equal([2f, -3f], Multislerp([[2, -3]], [0.4], baseValues: [1, 1]));
    }

    [Fact]
    public void Two_antipodal_models_with_cancelling_weights_fall_back_to_the_weighted_sum()
    {
        // Units e0 and −e0 at 0.5 each cancel: mergekit returns 0.5·τ0 + 0.5·τ1 (+ b).
        Assert.Equal([0.5f, 0f], Multislerp([[2, 0], [-1, 0]], [1, 1]));
        Assert.Equal([1.5f, 1f], Multislerp([[3, 1], [0, 1]], [1, 1], baseValues: [1, 1]));
    }

    [Fact]
    public void More_models_cancelling_out_is_an_error()
    {
        var error = Assert.Throws<MergeBuildException>(() => Multislerp([[1, 0], [-1, 0], [1, 0]], [1, 2, 1]));
        Assert.Equal(ErrorCodes.ParameterOutOfRange, error.Code);
    }
}
