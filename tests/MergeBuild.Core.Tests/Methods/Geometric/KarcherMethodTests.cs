using MergeBuild.Methods.Geometric;
using MergeBuild.Tensors;
using static MergeBuild.Core.Tests.Methods.MethodHarness;

namespace MergeBuild.Core.Tests.Methods.Geometric;

public class KarcherMethodTests
{
    private static readonly KarcherMethod Method = new();
    private static readonly double H = Math.Sqrt(0.5);

    private static float[] Karcher(float[][] xs, double maxIter = 10, double tol = 1e-5) =>
        Run(Method, xs.Select(x => new Input(x, P(("weight", 123)))).ToList(), null,
            P(("max_iter", maxIter), ("tol", tol)));

    private static void Near(double[] expected, float[] actual, int digits = 5)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], actual[i], digits);
        }
    }

    [Fact]
    public void Two_orthogonal_vectors_average_to_the_bisector_scaled_by_the_mean_norm()
    {
        Near([H, H], Karcher([[1, 0], [0, 1]]));
        Near([3 * H, 3 * H], Karcher([[2, 0], [0, 4]]));
    }

    [Fact]
    public void The_iteration_moves_from_the_chordal_mean_to_the_geodesic_mean()
    {
        // Angles 0°, 90°, 0° on the circle: the chordal start is atan(1/2) = 26.57°, the Karcher mean is 30°.
        Near([Math.Cos(Math.PI / 6), Math.Sin(Math.PI / 6)], Karcher([[1, 0], [0, 1], [1, 0]]));
    }

    [Fact]
    public void Tol_stops_the_iteration_and_skips_small_angles()
    {
        // tol = 0.5 rad: θ to e0 (0.46) is skipped, the step towards e1 has length 1.107/3 = 0.37 < 0.5 → stop at
        // the chordal start 26.57°, scaled by the mean norm 2.
        var start = Math.Atan(0.5);
        Near([2 * Math.Cos(start), 2 * Math.Sin(start)], Karcher([[2, 0], [0, 2], [2, 0]], tol: 0.5));
    }

    [Fact]
    public void Max_iter_bounds_the_number_of_steps()
    {
        float[][] xs = [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [3, 0, 1]];
        Near(DoubleReference.Karcher(xs.Select(DoubleReference.ToDouble).ToArray(), 1, 1e-5), Karcher(xs, maxIter: 1));
        Near(DoubleReference.Karcher(xs.Select(DoubleReference.ToDouble).ToArray(), 10, 1e-5), Karcher(xs));
        Assert.NotEqual(Karcher(xs, maxIter: 1), Karcher(xs));
    }

    [Fact]
    public void A_zero_tensor_takes_no_part_in_the_direction_but_counts_in_the_scale()
    {
        // Direction from (2, 0) and (0, 2) only; scale (0 + 2 + 2)/3.
        Near([4.0 / 3 * H, 4.0 / 3 * H], Karcher([[0, 0], [2, 0], [0, 2]]));
    }

    [Fact]
    public void All_zero_inputs_give_zero_and_a_single_input_is_copied()
    {
        Assert.Equal([0f, 0f], Karcher([[0, 0], [0, 0]]));
        Assert.Equal([1.5f, -2f], Karcher([[1.5f, -2]]));
    }

    [Fact]
    public void Bfloat16_results_are_rounded()
    {
        var result = Run(Method, [new Input([1, 0]), new Input([0, 1])], null, P(("max_iter", 10), ("tol", 1e-5)),
            dtype: DType.BF16);
        Assert.Equal([0.70703125f, 0.70703125f], result);
    }
}
