namespace MergeBuild.Eval.Metrics;

/// <summary>
/// One line of a JSONL eval set: <c>{"prompt", "answer"}</c>, <c>{"prompt", "choices", "label"}</c> or
/// <c>{"text"}</c>; fields a line does not have are null. <see cref="Line"/> is its 1-based line number.
/// </summary>
public sealed record EvalLine(
    int Line,
    string? Prompt = null,
    string? Answer = null,
    IReadOnlyList<string>? Choices = null,
    int? Label = null,
    string? Text = null);
