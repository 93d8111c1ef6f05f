using MergeBuild.Diagnostics;
using MergeBuild.Recipes;

namespace MergeBuild.Core.Tests.Recipes;

public class ParameterEvaluationTests
{
    private static readonly SourceLocation At = new("r.yml", 1, 1);

    [Theory]
    [InlineData(new[] { 0.0, 1.0 }, 0.5, 0.5)]
    [InlineData(new[] { 1.0, 2.0, 3.0 }, 0.75, 2.5)] // x = 1.5 -> halfway between 2 and 3
    [InlineData(new[] { 1.0, 2.0, 3.0 }, 0.0, 1.0)]
    [InlineData(new[] { 1.0, 2.0, 3.0 }, 1.0, 3.0)] // i0 = 2, i1 clamps to 2
    [InlineData(new[] { 0.0, 10.0, 20.0, 30.0 }, 0.5, 15.0)]
    [InlineData(new[] { 4.0 }, 0.3, 4.0)] // single value: constant
    [InlineData(new[] { 4.0 }, 1.0, 4.0)]
    public void Gradients_interpolate_linearly_between_neighbours(double[] values, double t, double expected) =>
        Assert.Equal(expected, ParameterEvaluation.InterpolateGradient(values, t));

    [Fact]
    public void Two_thirds_over_four_values_lands_on_the_third_value()
    {
        // 2/3 * 3 rounds to exactly 2.0 in double precision: i0 = 2, f = 0.
        Assert.Equal(20.0, ParameterEvaluation.InterpolateGradient([0, 10, 20, 30], 2.0 / 3.0));
    }

    [Fact]
    public void Index_is_truncated_not_rounded()
    {
        // 0.7 * 90 = 62.99999999999999 in double precision, so mergekit's int() picks segment 62 with
        // f = 0.9999999999999929 (value from Python), not index 63. With v[i] = i², that is
        // (1 - f) * 3844 + f * 3969 = 3968.999999999999 (Python's float result), not 3969.
        var values = Enumerable.Range(0, 91).Select(i => (double)(i * i)).ToArray();

        var result = ParameterEvaluation.InterpolateGradient(values, 0.7);

        Assert.Equal(3968.999999999999, result);
        Assert.NotEqual(3969.0, result);
    }

    [Fact]
    public void Gradient_rejects_empty_lists_and_positions_outside_zero_one()
    {
        Assert.Throws<ArgumentException>(() => ParameterEvaluation.InterpolateGradient([], 0.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => ParameterEvaluation.InterpolateGradient([1, 2], 1.5));
    }

    [Theory]
    [InlineData(null, "model.layers.0.mlp.up_proj.weight", true)]
    [InlineData("*", "lm_head.weight", true)]
    [InlineData("self_attn", "model.layers.3.self_attn.q_proj.weight", true)]
    [InlineData("self_attn", "model.layers.3.mlp.up_proj.weight", false)]
    [InlineData("layers.1", "model.layers.10.mlp.up_proj.weight", true)] // substring, not a path segment
    [InlineData("layers.1.", "model.layers.10.mlp.up_proj.weight", false)]
    [InlineData("layers.*.mlp", "model.layers.1.mlp.up_proj.weight", false)] // no glob
    [InlineData("mlp|attn", "model.layers.1.mlp.up_proj.weight", false)] // no regex
    [InlineData("MLP", "model.layers.1.mlp.up_proj.weight", false)] // case-sensitive
    public void Filters_are_plain_substrings(string? filter, string tensor, bool expected) =>
        Assert.Equal(expected, ParameterEvaluation.FilterMatches(filter, tensor));

    [Fact]
    public void First_matching_entry_wins()
    {
        var setting = new ConditionalSetting(
        [
            new ConditionalEntry("layers.1", new ScalarSetting(0.1, null, At), At),
            new ConditionalEntry("mlp", new ScalarSetting(0.2, null, At), At),
            new ConditionalEntry(null, new ScalarSetting(0.3, null, At), At),
        ], At);

        Assert.Equal(0.1, ParameterEvaluation.Evaluate(setting, "model.layers.10.mlp.up_proj.weight", 0));
        Assert.Equal(0.2, ParameterEvaluation.Evaluate(setting, "model.layers.2.mlp.up_proj.weight", 0));
        Assert.Equal(0.3, ParameterEvaluation.Evaluate(setting, "model.norm.weight", 0));
    }

    [Fact]
    public void No_matching_entry_is_null()
    {
        var setting = new ConditionalSetting([new ConditionalEntry("self_attn", new ScalarSetting(0.9, null, At), At)], At);

        Assert.Null(ParameterEvaluation.Evaluate(setting, "model.layers.0.mlp.down_proj.weight", 0.5));
    }

    [Fact]
    public void Conditional_values_may_be_gradients()
    {
        var setting = new ConditionalSetting([new ConditionalEntry("*", new GradientSetting([0, 1], At), At)], At);

        Assert.Equal(0.25, ParameterEvaluation.Evaluate(setting, "x", 0.25));
    }

    [Fact]
    public void Scalars_ignore_the_layer_position()
    {
        Assert.Equal(0.4, ParameterEvaluation.Evaluate(new ScalarSetting(0.4, null, At), "x", 0));
        Assert.Equal(0.4, ParameterEvaluation.Evaluate(new ScalarSetting(0.4, null, At), "x", 1));
    }

    [Fact]
    public void Text_settings_cannot_be_evaluated()
    {
        var error = Assert.Throws<MergeBuildException>(() => ParameterEvaluation.Evaluate(new ScalarSetting(null, "abc", At), "x", 0));

        Assert.Equal(ErrorCodes.InvalidValue, error.Code);
    }

    [Theory]
    [InlineData(0, 1, 1.0)] // one-layer slice: t = 1
    [InlineData(0, 4, 0.0)]
    [InlineData(1, 4, 1.0 / 3.0)]
    [InlineData(3, 4, 1.0)]
    [InlineData(2, 5, 0.5)]
    public void Layer_position_is_index_over_length_minus_one(int index, int length, double expected) =>
        Assert.Equal(expected, ParameterEvaluation.LayerPosition(index, length));

    [Fact]
    public void Layer_position_rejects_indices_outside_the_slice()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ParameterEvaluation.LayerPosition(4, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => ParameterEvaluation.LayerPosition(0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => ParameterEvaluation.LayerPosition(-1, 3));
    }
}
