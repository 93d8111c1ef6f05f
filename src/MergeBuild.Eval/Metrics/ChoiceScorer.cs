using MergeBuild.Eval.Inference;
using MergeBuild.Eval.Tokenization;

namespace MergeBuild.Eval.Metrics;

/// <summary>
/// accuracy: each choice is scored by the total log-probability of its tokens after the prompt; the highest
/// (the first on a tie) is the model's answer. A choice's tokens are those of prompt + choice beyond the prompt's
/// own (lm-evaluation-harness' split), so BPE merges across the boundary are tokenized as in running text.
/// </summary>
internal static class ChoiceScorer
{
    public static IReadOnlyList<LineResult> Score(EvalModel model, IReadOnlyList<EvalLine> lines)
    {
        var sequences = lines.SelectMany(line => line.Choices!.Select(choice =>
            Continuation(model.Tokenizer, line.Prompt!, choice))).ToArray();

        var scores = SequenceScorer.Score(model.Model, sequences);
        var results = new LineResult[lines.Count];
        var next = 0;
        for (var i = 0; i < lines.Count; i++)
        {
            var line = lines[i];
            var logProbabilities = scores.Skip(next).Take(line.Choices!.Count).Select(s => s.LogProbability).ToArray();
            next += line.Choices.Count;
            var best = 0;
            for (var c = 1; c < logProbabilities.Length; c++)
            {
                best = logProbabilities[c] > logProbabilities[best] ? c : best;
            }

            results[i] = new LineResult(line.Line)
            {
                Correct = best == line.Label,
                Choice = best,
                Output = line.Choices[best],
                ChoiceLogProbabilities = logProbabilities,
            };
        }

        return results;
    }

    /// <summary>The prompt's tokens (special tokens included) followed by the continuation's, scored from there.</summary>
    public static ScoredSequence Continuation(ITextTokenizer tokenizer, string prompt, string continuation)
    {
        var context = tokenizer.Encode(prompt).ToArray();
        var bare = tokenizer.Encode(prompt, addSpecial: false).Count;
        var tail = tokenizer.Encode(prompt + continuation, addSpecial: false).Skip(bare);
        return new ScoredSequence([.. context, .. tail], context.Length);
    }
}
