namespace MergeBuild.Eval.Metrics;

/// <summary>Knobs of an evaluation. None of them changes a result except <see cref="MaxNewTokens"/>.</summary>
public sealed record EvalOptions
{
    /// <summary>Tokens greedy decoding may generate per exact-match prompt (the fixtures' protocol: 32).</summary>
    public int MaxNewTokens { get; init; } = 32;

    /// <summary>Sequences decoded together in one batch (larger batches reuse each weight for more rows).</summary>
    public int BatchSize { get; init; } = 256;
}
