// The whole-tensor implementation that streaming replaced (commit 273e554), kept verbatim as the oracle of
// StreamingEquivalenceTests and StreamingMergeTests: the streamed methods must give its bits.
using MergeBuild.Methods;
using MergeBuild.Tensors;

namespace MergeBuild.Core.Tests.Methods.Reference;

/// <summary>SCE's "select" step: which entries have the largest variance across the task vectors.</summary>
internal static class VarianceSelection
{
    /// <summary>
    /// The population variance over models of every entry, as <c>torch.var(dim=0, unbiased=False)</c> computes it:
    /// Welford's update in double precision in model order, divided by n, cast to float32 and then to the compute dtype.
    /// </summary>
    public static float[] PopulationVariance(float[][] taskVectors, int count, DType dtype)
    {
        var n = taskVectors.Length;
        var variance = new float[count];
        for (var e = 0; e < count; e++)
        {
            double mean = 0, m2 = 0;
            for (var i = 0; i < n; i++)
            {
                double x = taskVectors[i][e];
                var delta = x - mean;
                mean += delta / (i + 1);
                m2 += delta * (x - mean);
            }

            variance[e] = FloatCodec.Round(dtype, (float)(m2 / n));
        }

        return variance;
    }

    /// <summary>
    /// mergekit's k: <c>int(count_nonzero(var) * select_topk)</c>, where an int64 tensor times a Python float is a
    /// float32 product (both operands cast to float32), truncated toward zero.
    /// </summary>
    public static long TopCount(float[] variance, double selectTopK)
    {
        long nonZero = 0;
        foreach (var v in variance)
        {
            if (v != 0)
            {
                nonZero++;
            }
        }

        var product = (float)nonZero * (float)selectTopK;
        return (long)product;
    }

    /// <summary>
    /// Marks the <paramref name="k"/> entries of largest |variance|. mergekit's <c>torch.topk</c> leaves the order of
    /// equal values open; MergeBuild keeps the lower flat index first among equals, so the choice is reproducible.
    /// </summary>
    public static bool[] TopK(float[] variance, long k)
    {
        var keep = new bool[variance.Length];
        if (k <= 0)
        {
            return keep;
        }

        if (k >= variance.Length)
        {
            Array.Fill(keep, true);
            return keep;
        }

        var sorted = new float[variance.Length];
        for (var e = 0; e < sorted.Length; e++)
        {
            sorted[e] = Math.Abs(variance[e]);
        }

        Array.Sort(sorted);
        // The k-th largest magnitude: every entry above it is kept, entries equal to it fill the rest by index.
        var threshold = sorted[sorted.Length - k];
        long above = 0;
        foreach (var v in sorted)
        {
            if (v > threshold)
            {
                above++;
            }
        }

        var ties = k - above;
        for (var e = 0; e < keep.Length; e++)
        {
            var v = Math.Abs(variance[e]);
            if (v > threshold)
            {
                keep[e] = true;
            }
            else if (v == threshold && ties > 0)
            {
                keep[e] = true;
                ties--;
            }
        }

        return keep;
    }
}
