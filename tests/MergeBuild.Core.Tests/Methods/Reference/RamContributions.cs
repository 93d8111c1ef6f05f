// The whole-tensor implementation that streaming replaced (commit 273e554), kept verbatim as the oracle of
// StreamingEquivalenceTests and StreamingMergeTests: the streamed methods must give its bits.
using MergeBuild.Methods;
using MergeBuild.Tensors;

namespace MergeBuild.Core.Tests.Methods.Reference;

/// <summary>
/// What RAM and RAM+ share: which task-vector entries count as contributions (|τᵢ| &gt; ε) and how many models
/// contribute to each entry.
/// </summary>
internal sealed class RamContributions
{
    private RamContributions(bool[][] nonZero, int[] counts)
    {
        NonZero = nonZero;
        Counts = counts;
    }

    /// <summary>Per model and entry: |τᵢ| &gt; ε.</summary>
    public bool[][] NonZero { get; }

    /// <summary>Per entry: the number of contributing models c.</summary>
    public int[] Counts { get; }

    /// <summary>
    /// Compares |τᵢ| with ε the way torch does for a tensor and a Python number: in the tensor's dtype, so ε is
    /// rounded to the compute dtype first (bf16: 1e-5 becomes 1.0013580322265625e-5).
    /// </summary>
    public static RamContributions Find(float[][] taskVectors, int count, double epsilon, DType dtype)
    {
        var threshold = FloatCodec.Round(dtype, (float)epsilon);
        var nonZero = new bool[taskVectors.Length][];
        var counts = new int[count];
        for (var i = 0; i < taskVectors.Length; i++)
        {
            var mask = new bool[count];
            for (var e = 0; e < count; e++)
            {
                if (Math.Abs(taskVectors[i][e]) > threshold)
                {
                    mask[e] = true;
                    counts[e]++;
                }
            }

            nonZero[i] = mask;
        }

        return new RamContributions(nonZero, counts);
    }

    /// <summary>
    /// Model <paramref name="model"/>'s share of an entry contributed by several models: τᵢ / c in the compute dtype
    /// (0 where the model does not contribute or the entry is unique).
    /// </summary>
    public float SharedTerm(float[][] taskVectors, int model, int e, DType dtype) =>
        NonZero[model][e] && Counts[e] > 1 ? FloatCodec.Round(dtype, taskVectors[model][e] / Counts[e]) : 0f;

    /// <summary>True when only model <paramref name="model"/> contributes to entry <paramref name="e"/>.</summary>
    public bool IsUnique(int model, int e) => NonZero[model][e] && Counts[e] == 1;
}
