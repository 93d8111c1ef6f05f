namespace MergeBuild.Eval.Inference;

/// <summary>A token sequence whose tokens from <see cref="ScoreFrom"/> on are scored given everything before them.</summary>
internal sealed record ScoredSequence(int[] Ids, int ScoreFrom);

/// <summary>The summed log-probability of a sequence's scored tokens, and how many there were.</summary>
internal readonly record struct SequenceScore(double LogProbability, int TokenCount);

/// <summary>
/// Teacher-forced scoring of many sequences (choice log-likelihoods, perplexity). Each sequence is a context (the
/// tokens before ScoreFrom) and a continuation: the contexts are fed with <see cref="SharedPrefixPrefill"/> (a prompt
/// shared by several choices, or a stem shared by many prompts, is computed once), whose last logits score the first
/// continuation token; the continuations are then fed in batches bounded by a logits budget, each position's logits
/// scoring the next token. Sequences are processed in groups so the KV caches held at once stay bounded. The scores
/// do not depend on the grouping.
/// </summary>
internal static class SequenceScorer
{
    private const long LogitBudget = 8L << 20;
    private const long CacheBudget = 32L << 20;
    private const int MaxRows = 4096;
    private const int MaxGroup = 1024;

    /// <param name="model">The model.</param>
    /// <param name="sequences">What to score.</param>
    /// <param name="maxRows">Overrides the rows fed per call (tests use tiny values to exercise the slicing).</param>
    /// <param name="maxGroup">Overrides the sequences held at once.</param>
    public static SequenceScore[] Score(LlamaModel model, IReadOnlyList<ScoredSequence> sequences,
        int? maxRows = null, int maxGroup = MaxGroup)
    {
        foreach (var sequence in sequences)
        {
            if (sequence.ScoreFrom < 1 || sequence.ScoreFrom > sequence.Ids.Length)
            {
                throw new ArgumentException("Scoring starts after at least one context token.", nameof(sequences));
            }
        }

        var results = new SequenceScore[sequences.Count];
        var perPosition = 2L * model.Config.NumLayers * model.Config.NumKeyValueHeads * model.Config.HeadDim;
        var start = 0;
        while (start < sequences.Count)
        {
            // Take sequences while their KV caches fit the budget (always at least one).
            var end = start;
            long cached = 0;
            while (end < sequences.Count && end - start < maxGroup &&
                   (end == start || cached + sequences[end].Ids.Length * perPosition <= CacheBudget))
            {
                cached += sequences[end].Ids.Length * perPosition;
                end++;
            }

            ScoreGroup(model, sequences, start, end, maxRows, results);
            start = end;
        }

        return results;
    }

    private static void ScoreGroup(LlamaModel model, IReadOnlyList<ScoredSequence> sequences, int start, int end,
        int? maxRows, SequenceScore[] results)
    {
        var vocab = model.VocabSize;
        var group = sequences.Skip(start).Take(end - start).ToArray();
        var (sessions, last) = SharedPrefixPrefill.Run(model, [.. group.Select(s => s.Ids[..s.ScoreFrom])]);
        var sums = new double[group.Length];
        var counts = new int[group.Length];
        for (var i = 0; i < group.Length; i++)
        {
            if (group[i].ScoreFrom < group[i].Ids.Length)
            {
                sums[i] = Logits.LogSoftmax(last.AsSpan(i * vocab, vocab), group[i].Ids[group[i].ScoreFrom]);
                counts[i] = 1;
            }
        }

        // Feed each continuation but its last token; the logits at fed position p score token p + 1.
        var rowBudget = maxRows ?? (int)Math.Clamp(LogitBudget / vocab, 64, MaxRows);
        var pending = Enumerable.Range(0, group.Length).Where(i => group[i].Ids.Length - group[i].ScoreFrom >= 2)
            .Select(i => (Index: i, From: group[i].ScoreFrom)).ToList();
        while (pending.Count > 0)
        {
            var batch = new List<(int Index, int From, int To)>();
            var rows = 0;
            foreach (var (index, from) in pending)
            {
                var to = Math.Min(group[index].Ids.Length - 1, from + Math.Max(1, rowBudget - rows));
                if (batch.Count > 0 && rows + (to - from) > rowBudget)
                {
                    break;
                }

                batch.Add((index, from, to));
                rows += to - from;
            }

            var logits = model.Forward([.. batch.Select(b => sessions[b.Index])],
                [.. batch.Select(b => group[b.Index].Ids[b.From..b.To])], allPositions: true);
            var row = 0;
            foreach (var (index, from, to) in batch)
            {
                for (var p = from; p < to; p++, row++)
                {
                    sums[index] += Logits.LogSoftmax(logits.AsSpan(row * vocab, vocab), group[index].Ids[p + 1]);
                    counts[index]++;
                }
            }

            // Only the batch's last continuation can have been cut at the budget; it goes on from there.
            var rest = pending.Skip(batch.Count).ToList();
            var (lastIndex, _, lastTo) = batch[^1];
            if (lastTo < group[lastIndex].Ids.Length - 1)
            {
                rest.Insert(0, (lastIndex, lastTo));
            }

            pending = rest;
        }

        for (var i = 0; i < group.Length; i++)
        {
            results[start + i] = new SequenceScore(sums[i], counts[i]);
        }
    }
}
