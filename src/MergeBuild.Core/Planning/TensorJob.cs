using MergeBuild.Tensors;
using MergeBuild.Tokenizers;

namespace MergeBuild.Planning;

/// <summary>
/// Everything needed to compute one output tensor: its name, shape and dtypes, the input tensors in recipe order,
/// the base tensor when the method uses one, and every parameter already evaluated at this tensor's position.
/// </summary>
public sealed class TensorJob
{
    public required string OutputName { get; init; }

    public required TensorRole Role { get; init; }

    /// <summary>Output layer index for layer tensors, -1 otherwise.</summary>
    public required int OutputLayer { get; init; }

    public required long[] Shape { get; init; }

    /// <summary>The dtype arithmetic is carried out in (the recipe's <c>dtype</c>, else the method's rule).</summary>
    public required DType ComputeDType { get; init; }

    /// <summary>The dtype written (the recipe's <c>out_dtype</c>, else the compute dtype).</summary>
    public required DType OutputDType { get; init; }

    /// <summary>The non-base inputs in recipe order (for methods without a base: every input).</summary>
    public required IReadOnlyList<JobInput> Inputs { get; init; }

    /// <summary>The base model's tensor, for methods that use one.</summary>
    public JobInput? Base { get; init; }

    /// <summary>Global (method) parameters evaluated for this tensor, defaults applied.</summary>
    public required IReadOnlyDictionary<string, double> Parameters { get; init; }

    /// <summary>Layer position t used to evaluate gradients (0 for pre/post-layer tensors).</summary>
    public required double T { get; init; }

    /// <summary>
    /// Set on embedding-like tensors (rows are token ids) when the recipe sets a tokenizer policy: every input is
    /// re-indexed into this vocabulary before the method runs, so <see cref="Shape"/> differs from the inputs' shapes.
    /// </summary>
    public OutputVocabulary? Vocabulary { get; init; }

    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);

    public long OutputBytes => ElementCount * DTypes.SizeOf(OutputDType);

    /// <summary>A global parameter's value (defaults already applied by the planner).</summary>
    public double Parameter(string name) => Parameters[name];

    public override string ToString() => OutputName;
}
