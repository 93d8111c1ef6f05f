namespace MergeBuild.Eval.Inference;

/// <summary>
/// What greedy decoding produced for one prompt: the new tokens (the stop token excluded), whether a stop token
/// ended it (false: it ran out of new tokens), and the smallest gap between the two best logits over its steps —
/// below about 1e-3 another float32 implementation may pick differently.
/// </summary>
public sealed record GreedyResult(IReadOnlyList<int> Tokens, bool Stopped, float MinTopGap);
