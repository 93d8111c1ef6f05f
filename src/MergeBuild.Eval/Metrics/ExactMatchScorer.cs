using MergeBuild.Eval.Inference;

namespace MergeBuild.Eval.Metrics;

/// <summary>
/// exact_match: BOS + prompt (the tokenizer's special tokens) is decoded greedily until a stop token or
/// MaxNewTokens; the decoded text (stop token excluded, other special tokens kept) must equal the answer exactly.
/// </summary>
internal static class ExactMatchScorer
{
    public static IReadOnlyList<LineResult> Score(EvalModel model, IReadOnlyList<EvalLine> lines, EvalOptions options)
    {
        var prompts = lines.Select(l => model.Tokenizer.Encode(l.Prompt!).ToArray()).ToArray();
        var decoder = new GreedyDecoder(model.Model, model.StopIds, options.MaxNewTokens);
        var generated = decoder.GenerateBatch(prompts, options.BatchSize);
        return [.. lines.Select((line, i) =>
        {
            var output = model.Tokenizer.Decode(generated[i].Tokens);
            return new LineResult(line.Line)
            {
                Correct = string.Equals(output, line.Answer, StringComparison.Ordinal),
                Output = output,
                MinTopGap = generated[i].MinTopGap,
                TokenCount = generated[i].Tokens.Count,
            };
        })];
    }
}
