using System.Text.Json;
using MergeBuild.Eval.Inference;
using MergeBuild.Eval.Metrics;
using MergeBuild.Eval.Tokenization;
using MergeBuild.Tests;

namespace MergeBuild.Eval.Tests.Metrics;

public class PerplexityTests
{
    [Fact]
    public void Answer_perplexity_is_near_one_for_the_specialist_and_higher_for_the_base()
    {
        var specialist = EvalRunner.Evaluate(Fixtures.Model("refunds"), Fixtures.Eval("refunds"), EvalMetric.Perplexity,
            limit: 40);
        var baseModel = EvalRunner.Evaluate(Fixtures.Model("base"), Fixtures.Eval("refunds"), EvalMetric.Perplexity,
            limit: 40);

        Assert.InRange(specialist.Score, 1.0, 1.01);
        Assert.True(baseModel.Score > specialist.Score + 0.05, $"base {baseModel.Score}, specialist {specialist.Score}");
        // Only the answer is scored: " full refund" is 12 characters.
        Assert.Equal(12, specialist.Lines[0].TokenCount);
    }

    [Fact]
    public void Text_perplexity_is_the_token_weighted_exponent_of_the_model_log_probabilities()
    {
        using var temp = new TempFolder();
        string[] texts = ["copy: hello world -> hello world", "note: a plain line", "x"];
        var eval = temp.Combine("text.jsonl");
        File.WriteAllLines(eval, texts.Select(t => JsonSerializer.Serialize(new { text = t })));

        var result = EvalRunner.Evaluate(Fixtures.Model("base"), eval, EvalMetric.Perplexity);

        var model = LlamaModel.Load(Fixtures.Model("base"));
        var tokenizer = TokenizerLoader.Load(Fixtures.Model("base"));
        var ids = texts.Select(t => tokenizer.Encode(t).ToArray()).ToArray();
        var logProbability = ids.Sum(i => model.LogProbability(i.AsSpan(0, 1), i.AsSpan(1)));
        var tokens = ids.Sum(i => i.Length - 1);
        Assert.Equal(tokens, result.Lines.Sum(l => l.TokenCount));
        Assert.Equal(Math.Exp(-logProbability / tokens), result.Score, 1e-9);
    }
}
