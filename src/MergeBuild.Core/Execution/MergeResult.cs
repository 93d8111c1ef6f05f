namespace MergeBuild.Execution;

/// <summary>What a finished merge produced.</summary>
public sealed record MergeResult(string OutputFolder, IReadOnlyList<string> Files, int ModelCount, int TensorCount,
    long WeightBytes, TimeSpan Elapsed);
