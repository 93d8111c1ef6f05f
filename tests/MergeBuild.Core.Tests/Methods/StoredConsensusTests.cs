using System.Runtime.Intrinsics.X86;
using MergeBuild.Methods;
using MergeBuild.Methods.Kernels;
using MergeBuild.Tensors;
using static MergeBuild.Core.Tests.Methods.StoredBits;

namespace MergeBuild.Core.Tests.Methods;

/// <summary>
/// The fused TIES output pass against mergekit's arithmetic written out here element by element: the task vector
/// rounded to the compute dtype, the top k by magnitude (ties broken by index, from a sort), breadcrumbs' outliers
/// removed, the weighting, the sign of the rounded sum, the agreeing terms summed from zero in recipe order and
/// rounded, divided by their rounded weight sum (1 where it is 0), λ, the base, the final encode.
/// </summary>
/// <remarks>
/// Inputs are fine-tunes a few coarse steps from a base (so many magnitudes equal the threshold, and the last one
/// taken falls inside a vector), or random bit patterns (NaNs, infinities, −0, subnormals). Chunks are fed in order,
/// as the executor does, so the selections' running counts carry from one call to the next.
/// </remarks>
public class StoredConsensusTests
{
    [Theory]
    [InlineData(true, 3, 32 * 40, 64, true, 1.0, false, false)]
    [InlineData(true, 3, 32 * 40, 96, false, 0.7, false, true)]
    [InlineData(false, 3, 32 * 40, 32 * 40, true, 1.3, false, false)]
    [InlineData(true, 1, 32 * 9, 32, true, 1.0, true, false)]
    [InlineData(true, 2, 32 * 30, 32 * 7, true, 1.0, true, true)]
    [InlineData(true, 4, 32 * 25, 64, true, 2.0, false, true)]
    [InlineData(false, 5, 32 * 20, 128, true, 1.0, false, false)]
    [InlineData(true, 6, 32 * 20, 160, false, 0.5, true, true)]
    public void Ties_from_stored_bits_equals_mergekits_arithmetic_bit_for_bit(bool bf16, int models, int length,
        int chunk, bool normalize, double lambda, bool randomBits, bool outliers)
    {
        var random = new Random(length * 7 + models * 3 + chunk);
        var (inputs, baseValues) = randomBits ? Inputs(random, models, length, randomBits: true) : Coarse(random, models, length);
        // Weights of exactly 1 skip the weighting's rounding; the others do not.
        float[] weights = [.. Enumerable.Range(0, models).Select(m => m % 3 == 1 ? 1f : Round(bf16, (float)(random.NextDouble() * 1.6 - 0.3)))];
        var deltas = inputs.Select(x => Enumerable.Range(0, length).Select(e => Round(bf16, Decode(x[e]) - Decode(baseValues[e]))).ToArray()).ToArray();
        // With several models the last is used whole (no sparsifier): all kept, none dropped.
        var wholeModel = models > 1 ? models - 1 : -1;
        var keep = deltas.Select((_, m) => m == wholeModel ? length : (long)(length * (0.2 + 0.6 * random.NextDouble()))).ToArray();
        var drop = deltas.Select((_, m) => outliers && m != wholeModel ? (long)(length * 0.05 * random.NextDouble()) : -1).ToArray();
        var masks = Enumerable.Range(0, models).Select(m => m == wholeModel
            ? new StoredConsensus.Mask(null, null)
            : new StoredConsensus.Mask(Selection(deltas[m], keep[m], bf16), drop[m] < 0 ? null : Selection(deltas[m], drop[m], bf16)))
            .ToArray();

        var expected = Expected(bf16, deltas, baseValues, weights, keep, drop, normalize, lambda);

        var settings = new StoredConsensus.Settings(bf16, normalize, lambda != 1.0, (float)lambda);
        var addresses = Addresses(inputs);
        var baseAddress = Addresses([baseValues])[0];
        var output = new ushort[length];
        var done = 0;
        for (var start = 0; start < length; start += chunk)
        {
            var count = Math.Min(chunk, length - start);
            var at = addresses.Select(a => a + start * sizeof(ushort)).ToArray();
            done += StoredConsensus.Compute(at, baseAddress + start * sizeof(ushort), masks, weights, count, settings,
                output.AsSpan(start));
        }

        Assert.Equal(Avx512F.IsSupported ? length : 0, done);
        AssertSameValues(expected, output, done);
    }

    /// <summary>mergekit's TIES for every element (see the class summary).</summary>
    private static ushort[] Expected(bool bf16, float[][] deltas, ushort[] baseValues, float[] weights, long[] keep,
        long[] drop, bool normalize, double lambda)
    {
        var models = deltas.Length;
        var length = baseValues.Length;
        var weighted = new float[models][];
        for (var m = 0; m < models; m++)
        {
            var rank = MagnitudeRanks.Of(deltas[m]);
            weighted[m] = new float[length];
            for (var e = 0; e < length; e++)
            {
                var kept = rank[e] < keep[m] && !(rank[e] < drop[m]);
                weighted[m][e] = Round(bf16, (kept ? deltas[m][e] : deltas[m][e] * 0f) * weights[m]);
            }
        }

        var expected = new ushort[length];
        for (var e = 0; e < length; e++)
        {
            var vote = 0f;
            for (var m = 0; m < models; m++)
            {
                vote += weighted[m][e];
            }

            var positive = Round(bf16, vote) >= 0;
            float mixed = 0f, divisor = 0f;
            for (var m = 0; m < models; m++)
            {
                var v = weighted[m][e];
                if (positive ? v > 0 : v < 0)
                {
                    mixed += v;
                    divisor += weights[m];
                }
            }

            mixed = Round(bf16, mixed);
            divisor = Round(bf16, divisor);
            if (normalize)
            {
                mixed = Round(bf16, mixed / (divisor == 0 ? 1f : divisor));
            }

            if (lambda != 1.0)
            {
                mixed = Round(bf16, mixed * (float)lambda);
            }

            expected[e] = BFloat16.FromSingle(Round(bf16, mixed + Decode(baseValues[e])));
        }

        return expected;
    }

    /// <summary>The top <paramref name="k"/>, read from the histograms as the statistics passes read them.</summary>
    private static TopKSelection Selection(float[] deltas, long k, bool bf16)
    {
        var selection = new TopKSelection(k, deltas.Length);
        var histogram = new long[TopKSelection.HighBuckets];
        foreach (var d in deltas)
        {
            histogram[(BitConverter.SingleToUInt32Bits(d) >> 16) & 0x7FFF]++;
        }

        selection.ReadHigh(histogram, lowBitsZero: bf16);
        if (selection.NeedsLow)
        {
            foreach (var d in deltas)
            {
                var key = BitConverter.SingleToUInt32Bits(d) & 0x7FFF_FFFF;
                if ((int)(key >> 16) == selection.Bucket)
                {
                    selection.CountLow(key);
                }
            }

            selection.ReadLow();
        }

        selection.Seen = 0;
        return selection;
    }

    /// <summary>Fine-tunes 0-3 coarse steps (of either sign) from a base: few distinct task-vector magnitudes.</summary>
    private static (ushort[][] Inputs, ushort[] Base) Coarse(Random random, int models, int length)
    {
        var baseValues = GC.AllocateArray<ushort>(length, pinned: true);
        for (var e = 0; e < length; e++)
        {
            baseValues[e] = BFloat16.FromSingle((float)(random.NextDouble() * 0.08 - 0.04));
        }

        var inputs = new ushort[models][];
        for (var m = 0; m < models; m++)
        {
            inputs[m] = GC.AllocateArray<ushort>(length, pinned: true);
            for (var e = 0; e < length; e++)
            {
                var step = random.Next(-3, 4) * (1f / 1024);
                inputs[m][e] = BFloat16.FromSingle(Decode(baseValues[e]) + step);
            }
        }

        return (inputs, baseValues);
    }
}
