using MergeBuild.Eval.Inference;

namespace MergeBuild.Eval.Metrics;

/// <summary>
/// perplexity: a <c>{"text"}</c> line scores every token after the first given those before it; a
/// <c>{"prompt", "answer"}</c> line scores the answer's tokens given the prompt (with its special tokens), split as
/// <see cref="ChoiceScorer"/> splits a choice. The set's perplexity is exp(−Σ log p / Σ tokens), weighted by tokens.
/// </summary>
internal static class PerplexityScorer
{
    public static IReadOnlyList<LineResult> Score(EvalModel model, IReadOnlyList<EvalLine> lines)
    {
        var sequences = lines.Select(line =>
        {
            if (line.Text is null)
            {
                return ChoiceScorer.Continuation(model.Tokenizer, line.Prompt!, line.Answer!);
            }

            var ids = model.Tokenizer.Encode(line.Text).ToArray();
            return new ScoredSequence(ids, Math.Min(1, ids.Length));
        }).ToArray();
        var scorable = sequences.Where(s => s.Ids.Length > 1 && s.ScoreFrom >= 1).ToArray();
        var scores = SequenceScorer.Score(model.Model, scorable);
        var results = new LineResult[lines.Count];
        var next = 0;
        for (var i = 0; i < lines.Count; i++)
        {
            // A line of one token has nothing to predict; it counts zero tokens.
            var score = sequences[i].Ids.Length > 1 && sequences[i].ScoreFrom >= 1 ? scores[next++] : default;
            results[i] = new LineResult(lines[i].Line)
            {
                LogProbability = score.LogProbability,
                TokenCount = score.TokenCount,
            };
        }

        return results;
    }

    public static double Perplexity(IReadOnlyList<LineResult> lines)
    {
        var tokens = lines.Sum(l => l.TokenCount);
        return tokens == 0 ? double.NaN : Math.Exp(-lines.Sum(l => l.LogProbability ?? 0) / tokens);
    }
}
