using MergeBuild.Diagnostics;
using MergeBuild.Eval.Metrics;
using MergeBuild.Tests;

namespace MergeBuild.Eval.Tests.Metrics;

public class EvalSetReaderTests
{
    [Fact]
    public void Blank_lines_are_skipped_and_the_limit_keeps_the_first_lines()
    {
        using var temp = new TempFolder();
        var path = temp.Combine("set.jsonl");
        File.WriteAllText(path, "{\"prompt\": \"a\", \"answer\": \" b\"}\n\n{\"prompt\": \"c\", \"answer\": \" d\"}\n" +
                                "{\"prompt\": \"e\", \"answer\": \" f\"}\n");

        var lines = EvalSetReader.Read(path, EvalMetric.ExactMatch, limit: 2);

        Assert.Equal([1, 3], lines.Select(l => l.Line));
        Assert.Equal(" d", lines[1].Answer);
    }

    [Theory]
    [InlineData("{\"prompt\": \"a\"}", EvalMetric.ExactMatch, "needs \"prompt\" and \"answer\"")]
    [InlineData("{\"prompt\": \"a\", \"choices\": [\" x\"], \"label\": 1}", EvalMetric.Accuracy, "label 1")]
    [InlineData("{\"prompt\": \"a\", \"choices\": \" x\", \"label\": 0}", EvalMetric.Accuracy, "\"choices\" must be")]
    [InlineData("{\"answer\": \" b\"}", EvalMetric.Perplexity, "needs \"text\"")]
    [InlineData("not json", EvalMetric.ExactMatch, "not valid JSON")]
    public void A_bad_line_is_reported_with_its_number(string badLine, EvalMetric metric, string message)
    {
        using var temp = new TempFolder();
        var path = temp.Combine("set.jsonl");
        File.WriteAllLines(path, ["{\"prompt\": \"a\", \"answer\": \" b\", \"choices\": [\" b\"], \"label\": 0}", badLine]);

        var error = Assert.Throws<MergeBuildException>(() => EvalSetReader.Read(path, metric));

        Assert.Equal(ErrorCodes.MalformedEvalSet, error.Code);
        Assert.Equal(2, error.Location!.Line);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Metric_names_parse_and_unknown_ones_are_refused()
    {
        Assert.Equal(EvalMetric.ExactMatch, EvalMetrics.Parse("exact_match"));
        Assert.Equal("perplexity", EvalMetrics.Name(EvalMetric.Perplexity));
        Assert.Equal(ErrorCodes.InvalidOption, Assert.Throws<MergeBuildException>(() => EvalMetrics.Parse("f1")).Code);
    }
}
