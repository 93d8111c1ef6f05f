using System.Buffers;
using System.Globalization;
using MergeBuild.Diagnostics;
using MergeBuild.Tensors;

namespace MergeBuild.Methods;

/// <summary>
/// DELLA sparsification (mergekit's <c>della_magprune</c>): within each row, entries are ranked by |d| (rank 1 =
/// smallest) and kept with probability p = (density − ε) + 2ε·(rank − 1)/(n_row − 1), then optionally L1-rescaled.
/// </summary>
/// <remarks>
/// <para>"Rows" are mergekit's <c>dim=1</c> of the tensor after a 1-D tensor is made [1, n]: for a matrix the rows of
/// dim 0, for a vector the whole vector, for a tensor of rank ≥ 3 the lines along dim 1.</para>
/// <para>The ramp is computed as mergekit writes it, in the random work dtype W (bf16 for bf16, else float32), each
/// torch op rounded to W: ranks are stored in W (bf16 quantises ranks above 256), rank_norm = (rank − 1)/(max − 1)
/// clamped to [0, 1], p = W(density − ε) + W(W(rank_norm·2)·ε).</para>
/// <para>A row of one entry gives mergekit 0/0 = NaN (and a torch error); MergeBuild uses p = density there.</para>
/// </remarks>
internal static class DellaSparsifier
{
    public static void Apply(Span<float> delta, long[] shape, double density, double epsilon, bool rescale,
        DType dtype, CounterRandom random, long start, string tensorName)
    {
        if (density >= 1)
        {
            return;
        }

        if (density <= 0)
        {
            delta.Clear();
            return;
        }

        CheckRamp(density, epsilon, tensorName);
        var work = WorkDType.ForRandom(dtype);
        var (lines, length, stride) = Lines(shape, delta.Length);
        var low = FloatCodec.Round(work, (float)(density - epsilon));
        var single = FloatCodec.Round(work, (float)density);
        var maxRank = FloatCodec.Round(work, length);
        var span = FloatCodec.Round(work, maxRank - 1f);
        var eps = (float)epsilon;

        var before = rescale ? L1Rescale.Norm(delta, work) : 0f;
        var scratch = ArrayPool<ulong>.Shared.Rent(length);
        var ranks = ArrayPool<int>.Shared.Rent(length);
        try
        {
            for (long line = 0; line < lines; line++)
            {
                // Line `line` = (outer index a, inner index c): entries a·length·stride + j·stride + c.
                var first = line / stride * length * stride + line % stride;
                MagnitudeRanking.RankLine(delta, first, length, stride, scratch, ranks);
                for (var j = 0; j < length; j++)
                {
                    var p = length == 1 ? single : KeepProbability(ranks[j], span, low, eps, work);
                    var index = (int)(first + j * stride);
                    delta[index] *= random.Uniform(start + index) < p ? 1f : 0f;
                }
            }
        }
        finally
        {
            ArrayPool<ulong>.Shared.Return(scratch);
            ArrayPool<int>.Shared.Return(ranks);
        }

        if (rescale)
        {
            L1Rescale.Apply(delta, before, work);
        }

        if (work != dtype)
        {
            FloatCodec.RoundTo(dtype, delta);
        }
    }

    /// <summary>The ramp must stay inside (0, 1): 0 &lt; density − ε and density + ε &lt; 1 (for 0 &lt; density &lt; 1).</summary>
    public static void CheckRamp(double density, double epsilon, string tensorName)
    {
        if (density + epsilon >= 1 || density - epsilon <= 0)
        {
            throw new MergeBuildException(ErrorCodes.ParameterOutOfRange,
                string.Create(CultureInfo.InvariantCulture,
                    $"DELLA needs 0 < density − epsilon and density + epsilon < 1, but tensor '{tensorName}' has density {density} and epsilon {epsilon}."),
                hint: "Lower epsilon, or move density away from 0 and 1 by more than epsilon.");
        }
    }

    /// <summary>
    /// The keep probability of each rank 1…<paramref name="length"/> of a line (index rank − 1), computed as
    /// <see cref="Apply"/> does; a line of one entry gets W(density).
    /// </summary>
    public static float[] KeepProbabilities(int length, double density, double epsilon, DType work)
    {
        if (length == 1)
        {
            return [FloatCodec.Round(work, (float)density)];
        }

        var low = FloatCodec.Round(work, (float)(density - epsilon));
        var maxRank = FloatCodec.Round(work, length);
        var span = FloatCodec.Round(work, maxRank - 1f);
        var table = new float[length];
        for (var rank = 1; rank <= length; rank++)
        {
            table[rank - 1] = KeepProbability(rank, span, low, (float)epsilon, work);
        }

        return table;
    }

    private static float KeepProbability(int rank, float span, float low, float epsilon, DType work)
    {
        var r = FloatCodec.Round(work, rank);
        var norm = Math.Clamp(FloatCodec.Round(work, FloatCodec.Round(work, r - 1f) / span), 0f, 1f);
        var ramp = FloatCodec.Round(work, FloatCodec.Round(work, norm * 2f) * epsilon);
        return FloatCodec.Round(work, low + ramp);
    }

    /// <summary>The lines ranks are taken along: count, length and the stride between consecutive entries.</summary>
    public static (long Lines, int Length, long Stride) Lines(long[] shape, int count)
    {
        if (shape.Length < 2)
        {
            return (1, count, 1);
        }

        var inner = 1L;
        for (var d = 2; d < shape.Length; d++)
        {
            inner *= shape[d];
        }

        return (shape[0] * inner, (int)shape[1], inner);
    }
}
