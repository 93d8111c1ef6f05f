namespace MergeBuild.Eval.Benchmarks;

/// <summary>
/// Greedy-decoding throughput in generated tokens per second (prompt prefill included in the time): one sequence
/// and a batch of sequences, each on one thread and on <see cref="Threads"/> threads.
/// </summary>
public sealed record EvalBenchmarkResult(
    string Model,
    int PromptTokens,
    int NewTokens,
    int BatchSize,
    int Threads,
    double SingleSequenceOneThread,
    double SingleSequenceMultiThread,
    double BatchedOneThread,
    double BatchedMultiThread);
