using System.Text.Json;
using MergeBuild.Eval.Metrics;
using MergeBuild.Tests;

namespace MergeBuild.Eval.Tests.Metrics;

/// <summary>accuracy on a multiple-choice version of the refunds eval set: the five policy answers as choices.</summary>
public class ChoiceAccuracyTests
{
    private static readonly string[] Answers = [" full refund", " exchange", " store credit", " partial refund", " deny"];

    [Fact]
    public void The_specialist_picks_the_right_policy_and_the_base_is_at_chance()
    {
        using var temp = new TempFolder();
        var eval = WriteChoiceSet(temp, limit: 60);

        var specialist = EvalRunner.Evaluate(Fixtures.Model("refunds"), eval, EvalMetric.Accuracy);
        var baseModel = EvalRunner.Evaluate(Fixtures.Model("base"), eval, EvalMetric.Accuracy);

        Assert.Equal(60, specialist.N);
        Assert.Equal(1.0, specialist.Score);
        Assert.InRange(baseModel.Score, 0.0, 0.5);
    }

    [Fact]
    public void Each_line_reports_every_choice_and_picks_the_most_likely()
    {
        using var temp = new TempFolder();
        var eval = WriteChoiceSet(temp, limit: 5);

        var result = EvalRunner.Evaluate(Fixtures.Model("shipping"), eval, EvalMetric.Accuracy, limit: 3);

        Assert.Equal(3, result.N);
        foreach (var line in result.Lines)
        {
            Assert.Equal(Answers.Length, line.ChoiceLogProbabilities!.Count);
            Assert.All(line.ChoiceLogProbabilities, lp => Assert.True(lp < 0));
            Assert.Equal(line.ChoiceLogProbabilities.Max(), line.ChoiceLogProbabilities[line.Choice!.Value]);
            Assert.Equal(Answers[line.Choice.Value], line.Output);
        }
    }

    private static string WriteChoiceSet(TempFolder temp, int limit)
    {
        var path = temp.Combine("refunds-choices.jsonl");
        File.WriteAllLines(path, File.ReadLines(Fixtures.Eval("refunds")).Take(limit).Select(line =>
        {
            using var document = JsonDocument.Parse(line);
            var answer = document.RootElement.GetProperty("answer").GetString();
            return JsonSerializer.Serialize(new
            {
                prompt = document.RootElement.GetProperty("prompt").GetString(),
                choices = Answers,
                label = Array.IndexOf(Answers, answer),
            });
        }));
        return path;
    }
}
