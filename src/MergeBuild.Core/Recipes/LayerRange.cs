using MergeBuild.Diagnostics;

namespace MergeBuild.Recipes;

/// <summary>A half-open span of layer indices <c>[Start, End)</c>, as in <c>layer_range: [0, 16]</c>.</summary>
public sealed record LayerRange(int Start, int End, SourceLocation Location)
{
    /// <summary>How many layers the span covers.</summary>
    public int Count => End - Start;
}
