namespace MergeBuild.Eval.Benchmarks;

/// <summary>What <see cref="EvalBenchmark.Run"/> measures.</summary>
public sealed record EvalBenchmarkOptions
{
    /// <summary>The prompt (encoded with the model's tokenizer, special tokens included).</summary>
    public string Prompt { get; init; } = "copy: benchmark prompt ->";

    /// <summary>Tokens generated per sequence; stop tokens are ignored so every run generates exactly this many.</summary>
    public int NewTokens { get; init; } = 64;

    /// <summary>Sequences decoded together in the batched measurements.</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>
    /// Timed runs per measurement, at least (runs continue for half the warm-up time); the fastest is reported, as
    /// the machine may be shared.
    /// </summary>
    public int Repetitions { get; init; } = 5;

    /// <summary>
    /// How long to decode before timing: tiered compilation needs many calls before the kernels run as optimized
    /// code, and Tier-0 loops are several times slower.
    /// </summary>
    public TimeSpan WarmUp { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Threads for the multi-threaded measurements (default: every core).</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;
}
