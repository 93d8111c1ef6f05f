using MergeBuild.Eval.Metrics;
using MergeBuild.Eval.Tests.Support;
using MergeBuild.Tests;

namespace MergeBuild.Eval.Tests.Metrics;

/// <summary>
/// A representative part of the fixtures' accuracy table, fast enough for every run (the whole table is
/// <see cref="AccuracyTableTests"/>): a specialist on its task, the base at chance with near ties, and a reference
/// merge with the added &lt;SKU&gt; token.
/// </summary>
public class ExactMatchTests
{
    [Theory]
    [InlineData("refunds", "refunds")]
    [InlineData("base", "shipping")]
    [InlineData("ties-d0.5+sku", "catalog_sku")]
    public void Reproduces_the_table_within_its_near_ties(string row, string task)
    {
        var expected = ExpectedRow.Get(row);

        var result = EvalRunner.Evaluate(expected.Folder!, Fixtures.Eval(task), EvalMetric.ExactMatch);

        Assert.Equal(expected.Results[task].Total, result.N);
        Assert.InRange(result.Correct!.Value, expected.Results[task].Correct - expected.NearTies[task],
            expected.Results[task].Correct + expected.NearTies[task]);
        Assert.Equal((double)result.Correct.Value / result.N, result.Score);
    }

    [Fact]
    public void Reports_every_line_with_its_output_and_honours_the_limit()
    {
        var result = EvalRunner.Evaluate(Fixtures.Model("refunds"), Fixtures.Eval("refunds"), EvalMetric.ExactMatch,
            limit: 7);

        Assert.Equal(7, result.N);
        Assert.Equal(Enumerable.Range(1, 7), result.Lines.Select(l => l.Line));
        Assert.Equal(" full refund", result.Lines[0].Output);
        Assert.All(result.Lines, l => Assert.True(l.Correct));
        Assert.All(result.Lines, l => Assert.True(l.MinTopGap > 1e-3f));
    }

    [Fact]
    public void Results_do_not_depend_on_the_batch_size()
    {
        var model = EvalModel.Load(Fixtures.Model("base"));
        var eval = Fixtures.Eval("catalog");

        var large = EvalRunner.Evaluate(model, eval, EvalMetric.ExactMatch, limit: 40);
        var small = EvalRunner.Evaluate(model, eval, EvalMetric.ExactMatch, limit: 40, new EvalOptions { BatchSize = 3 });

        Assert.Equal(large.Lines, small.Lines, (a, b) => a.Output == b.Output && a.MinTopGap == b.MinTopGap);
    }
}
