namespace MergeBuild.Eval.Inference;

/// <summary>
/// Greedy (argmax, no sampling) generation with a KV cache: after the prompt, the most likely token is chosen and
/// fed back until a stop token (not part of the output) or <see cref="MaxNewTokens"/> tokens. Many prompts can be
/// decoded together as one ragged batch; each prompt's result is the same as when decoded alone.
/// </summary>
public sealed class GreedyDecoder
{
    private readonly LlamaModel _model;
    private readonly HashSet<int> _stopIds;

    /// <param name="model">The model to run.</param>
    /// <param name="stopIds">Tokens that end generation (usually the tokenizer's EOS).</param>
    /// <param name="maxNewTokens">The most tokens generated per prompt.</param>
    public GreedyDecoder(LlamaModel model, IEnumerable<int> stopIds, int maxNewTokens = 32)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(stopIds);
        ArgumentOutOfRangeException.ThrowIfNegative(maxNewTokens);
        _model = model;
        _stopIds = [.. stopIds];
        MaxNewTokens = maxNewTokens;
    }

    public int MaxNewTokens { get; }

    public IReadOnlySet<int> StopIds => _stopIds;

    /// <summary>Decodes one prompt (which must hold at least one token).</summary>
    public GreedyResult Generate(ReadOnlySpan<int> promptIds) => GenerateBatch([promptIds.ToArray()])[0];

    /// <summary>
    /// Decodes every prompt, <paramref name="batchSize"/> sequences at a time: the prompts of a batch are fed
    /// together, each shared prefix once (<see cref="SharedPrefixPrefill"/>), then each step feeds every unfinished
    /// sequence its last token in one forward pass.
    /// </summary>
    public IReadOnlyList<GreedyResult> GenerateBatch(IReadOnlyList<int[]> prompts, int batchSize = 256)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        if (prompts.Any(p => p.Length == 0))
        {
            throw new ArgumentException("Every prompt needs at least one token.", nameof(prompts));
        }

        var results = new GreedyResult[prompts.Count];
        for (var start = 0; start < prompts.Count; start += batchSize)
        {
            var count = Math.Min(batchSize, prompts.Count - start);
            DecodeBatch(prompts, start, count, results);
        }

        return results;
    }

    private void DecodeBatch(IReadOnlyList<int[]> prompts, int start, int count, GreedyResult[] results)
    {
        var (sessions, logits) = SharedPrefixPrefill.Run(_model, prompts.Skip(start).Take(count).ToArray());
        var generated = new List<int>[count];
        var gaps = new float[count];
        var stopped = new bool[count];
        for (var i = 0; i < count; i++)
        {
            generated[i] = [];
            gaps[i] = float.PositiveInfinity;
        }

        var active = Enumerable.Range(0, count).ToList();
        var vocab = _model.VocabSize;
        for (var step = 0; step < MaxNewTokens && active.Count > 0; step++)
        {
            if (step > 0)
            {
                logits = _model.ForwardLast([.. active.Select(i => sessions[i])],
                    [.. active.Select(i => new[] { generated[i][^1] })]);
            }

            var next = new List<int>(active.Count);
            for (var k = 0; k < active.Count; k++)
            {
                var i = active[k];
                var row = logits.AsSpan(k * vocab, vocab);
                var token = Logits.ArgMax(row);
                gaps[i] = Math.Min(gaps[i], Logits.TopGap(row));
                if (_stopIds.Contains(token))
                {
                    stopped[i] = true;
                    continue;
                }

                generated[i].Add(token);
                next.Add(i);
            }

            active = next;
        }

        for (var i = 0; i < count; i++)
        {
            results[start + i] = new GreedyResult(generated[i], stopped[i], gaps[i]);
        }
    }
}
