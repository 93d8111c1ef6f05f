using MergeBuild.Methods;
using MergeBuild.Tensors;
using MergeBuild.Tests;
using static MergeBuild.Core.Tests.Methods.MethodHarness;

namespace MergeBuild.Core.Tests.Methods;

public class TaskArithmeticMethodTests
{
    private static readonly float[] Base = [1, 2, 3, 4];

    // Task vectors: d0 = [1, 0, -2, 0.5], d1 = [-1, 1, 0, -1].
    private static readonly float[] X0 = [2, 2, 1, 4.5f];
    private static readonly float[] X1 = [0, 3, 3, 3];

    private static float[] Run2(double w0, double w1, params (string, double)[] parameters) =>
        MethodHarness.Run(new TaskArithmeticMethod(),
            [new(X0, P(("weight", w0))), new(X1, P(("weight", w1)))], Base, P(parameters));

    [Fact]
    public void Weighted_sum_of_task_vectors_with_a_negative_weight()
    {
        // mixed = 1·d0 − 0.5·d1 = [1.5, −0.5, −2, 1]
        Assert.Equal([2.5f, 1.5f, 1f, 5f], Run2(1, -0.5, ("normalize", 0), ("lambda", 1)));
    }

    [Fact]
    public void Normalize_divides_by_the_weight_sum()
    {
        // Σw = 0.5: mixed = [3, −1, −4, 2]
        Assert.Equal([4f, 1f, -1f, 6f], Run2(1, -0.5, ("normalize", 1), ("lambda", 1)));
    }

    [Fact]
    public void Lambda_scales_after_normalisation()
    {
        Assert.Equal([7f, 0f, -5f, 8f], Run2(1, -0.5, ("normalize", 1), ("lambda", 2)));
        Assert.Equal([1.75f, 1.75f, 2f, 4.5f], Run2(1, -0.5, ("normalize", 0), ("lambda", 0.5)));
    }

    [Fact]
    public void A_zero_weight_sum_is_not_divided_by()
    {
        // Σw = 0 → divisor 1: mixed = d0 − d1 = [2, −1, −2, 1.5]
        Assert.Equal([3f, 1f, 1f, 5.5f], Run2(1, -1, ("normalize", 1), ("lambda", 1)));
    }

    [Fact]
    public void Defaults_are_normalize_false_and_lambda_one()
    {
        Assert.Equal([2.5f, 1.5f, 1f, 5f], Run2(1, -0.5));
    }

    [Fact]
    public void Without_models_the_base_is_returned()
    {
        Assert.Equal(Base, MethodHarness.Run(new TaskArithmeticMethod(), [], Base));
    }

    [Fact]
    public void Bfloat16_rounds_the_weight_the_product_and_the_sum()
    {
        // w = bf16(0.3) = 77/256; v = 0.5·77/256 = 0.150390625 (exact); 1 + v = 1.150390625 → bf16 1.1484375
        var output = MethodHarness.Run(new TaskArithmeticMethod(), [new([1.5f], P(("weight", 0.3)))], [1f],
            P(("normalize", 0), ("lambda", 1)), dtype: DType.BF16);
        Assert.Equal([1.1484375f], output);
    }

    [Fact]
    public void Lambda_multiplies_in_float32_and_rounds_once_in_bfloat16()
    {
        // mixed = 1 (bf16); 1 · 0.3 in float32 = 0.3f → bf16 0.30078125; 0 + that = 0.30078125. Had lambda been rounded
        // to bf16 first the result would be the same here, so pick a lambda where it differs: 0.3 + 2^-10.
        var lambda = 0.3 + 1.0 / 1024;
        var expected = Bf16.Round(Bf16.Round(1f * (float)lambda));
        var output = MethodHarness.Run(new TaskArithmeticMethod(), [new([1f], P(("weight", 1)))], [0f],
            P(("normalize", 0), ("lambda", lambda)), dtype: DType.BF16);
        Assert.Equal([expected], output);
    }

    [Fact]
    public void Is_element_wise_and_chunking_does_not_change_the_result()
    {
        var method = new TaskArithmeticMethod();
        Assert.True(method.IsElementwise);
        var random = new Random(7);
        float[] Values() => Enumerable.Range(0, 1000).Select(_ => (float)random.NextDouble()).ToArray();
        var b = Values();
        MethodHarness.Input[] inputs = [new(Values(), P(("weight", 0.7))), new(Values(), P(("weight", -0.2)))];
        var whole = MethodHarness.Run(method, inputs, b, P(("normalize", 1)));
        var chunked = MethodHarness.Run(method, inputs, b, P(("normalize", 1)), chunk: 33);
        Assert.Equal(whole, chunked);
    }

    [Fact]
    public void Default_compute_dtype_is_the_base_models()
    {
        Assert.Equal(DType.F16, new TaskArithmeticMethod().DefaultComputeDType([DType.BF16, DType.F32], DType.F16));
    }
}
