using System.Runtime.Intrinsics.X86;
using MergeBuild.Methods;
using MergeBuild.Methods.Kernels;
using MergeBuild.Tensors;
using static MergeBuild.Core.Tests.Methods.StoredBits;

namespace MergeBuild.Core.Tests.Methods;

/// <summary>
/// The fused output pass of TIES, breadcrumbs, DARE and DELLA against mergekit's arithmetic written out here element
/// by element: the task vector rounded to the compute dtype; the top k by magnitude (ties broken by index, from a
/// sort) with breadcrumbs' outliers removed, or random keep bits and the L1 rescale (rounded); the weighting; with
/// consensus the sign of the rounded sum, the agreeing terms summed from zero in recipe order and rounded, divided by
/// their rounded weight sum (1 where it is 0); without, the sum rounded and divided by the rounded weight sum (1 where
/// below 1e-8); then λ, the base, the final encode.
/// </summary>
/// <remarks>
/// Inputs are fine-tunes a few coarse steps from a base (so many magnitudes equal the threshold, and the last one
/// taken falls inside a vector), or random bit patterns (NaNs, infinities, −0, subnormals). Chunks are fed in order,
/// as the executor does, so the selections' running counts carry from one call to the next.
/// </remarks>
public class StoredMaskedMixTests
{
    [Theory]
    [InlineData(true, true, 3, 32 * 40, 64, true, 1.0, false, false)]
    [InlineData(true, true, 3, 32 * 40, 96, false, 0.7, false, true)]
    [InlineData(false, true, 3, 32 * 40, 32 * 40, true, 1.3, false, false)]
    [InlineData(true, true, 1, 32 * 9, 32, true, 1.0, true, false)]
    [InlineData(true, true, 2, 32 * 30, 32 * 7, true, 1.0, true, true)]
    [InlineData(true, true, 4, 32 * 25, 64, true, 2.0, false, true)]
    [InlineData(false, true, 5, 32 * 20, 128, true, 1.0, false, false)]
    [InlineData(true, true, 6, 32 * 20, 160, false, 0.5, true, true)]
    [InlineData(true, false, 3, 32 * 40, 64, true, 1.0, false, true)]
    [InlineData(false, false, 3, 32 * 40, 96, false, 0.7, false, true)]
    [InlineData(true, false, 2, 32 * 30, 32 * 7, true, 1.0, true, true)]
    [InlineData(true, false, 5, 32 * 20, 128, true, 1.5, true, false)]
    public void Masked_task_vectors_mixed_from_stored_bits_equal_mergekits_arithmetic_bit_for_bit(bool bf16,
        bool consensus, int models, int length, int chunk, bool normalize, double lambda, bool randomBits, bool outliers)
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
            ? new StoredMaskedMix.Mask(null, null)
            : new StoredMaskedMix.Mask(Selection(deltas[m], keep[m], bf16), drop[m] < 0 ? null : Selection(deltas[m], drop[m], bf16)))
            .ToArray();

        var masked = deltas.Select((d, m) =>
        {
            var rank = MagnitudeRanks.Of(d);
            return d.Select((v, e) => rank[e] < keep[m] && !(rank[e] < drop[m]) ? v : v * 0f).ToArray();
        }).ToArray();
        var expected = Expected(bf16, consensus, masked, baseValues, weights, normalize, lambda);

        var settings = new StoredMaskedMix.Settings(bf16, consensus, normalize, LinearDivisor(bf16, weights),
            lambda != 1.0, (float)lambda);
        var addresses = Addresses(inputs);
        var baseAddress = Addresses([baseValues])[0];
        var output = new ushort[length];
        var done = 0;
        for (var start = 0; start < length; start += chunk)
        {
            var count = Math.Min(chunk, length - start);
            var at = addresses.Select(a => a + start * sizeof(ushort)).ToArray();
            done += StoredMaskedMix.Compute(at, baseAddress + start * sizeof(ushort), masks, [], weights, count, settings,
                output.AsSpan(start));
        }

        Assert.Equal(Avx512F.IsSupported ? length : 0, done);
        AssertSameValues(expected, output, done);
    }

    [Theory]
    [InlineData(true, true, 3, 32 * 40, false)]
    [InlineData(true, false, 3, 32 * 40, false)]
    [InlineData(false, true, 3, 32 * 40, false)]
    [InlineData(false, false, 2, 32 * 30, false)]
    [InlineData(true, true, 4, 32 * 25, true)]
    [InlineData(true, false, 1, 32 * 20, true)]
    [InlineData(false, true, 5, 32 * 20, true)]
    public void Randomly_kept_task_vectors_rescaled_and_mixed_from_stored_bits_equal_mergekits_arithmetic(bool bf16,
        bool consensus, int models, int length, bool randomBits)
    {
        var random = new Random(length * 5 + models * 11 + (bf16 ? 1 : 0));
        var (inputs, baseValues) = randomBits ? Inputs(random, models, length, randomBits: true) : Coarse(random, models, length);
        float[] weights = [.. Enumerable.Range(0, models).Select(m => m % 3 == 1 ? 1f : Round(bf16, (float)(random.NextDouble() * 1.6 - 0.3)))];
        var deltas = inputs.Select(x => Enumerable.Range(0, length).Select(e => Round(bf16, Decode(x[e]) - Decode(baseValues[e]))).ToArray()).ToArray();
        // DARE's and DELLA's masks as the statistics pass keeps them: one bit per entry. With several models the last
        // is used whole and the second is not rescaled (both sums of a tensor below 1e-7); with three or more the
        // first draws its mask in the kernel, as DARE does without kept bits.
        var wholeModel = models > 1 ? models - 1 : -1;
        var drawnModel = models >= 3 ? 0 : -1;
        var counter = new CounterRandom(17, 0, "model.layers.1.mlp.down_proj.weight");
        const double Density = 0.3;
        var words = Enumerable.Range(0, models).Select(_ => GC.AllocateArray<ushort>(length / 16, pinned: true)).ToArray();
        foreach (var modelWords in words)
        {
            random.NextBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(modelWords.AsSpan()));
        }

        var scales = Enumerable.Range(0, models).Select(m => m == 1 ? (float?)null : Round(bf16, (float)(1 + 2 * random.NextDouble()))).ToArray();
        var masked = deltas.Select((d, m) => d.Select((v, e) =>
        {
            if (m == wholeModel)
            {
                return v;
            }

            var keep = m == drawnModel ? counter.Uniform(e) < Density : ((words[m][e >> 4] >> (e & 15)) & 1) != 0;
            var kept = keep ? v : v * 0f;
            return scales[m] is { } scale ? Round(bf16, kept * scale) : kept;
        }).ToArray()).ToArray();
        var expected = Expected(bf16, consensus, masked, baseValues, weights, normalize: true, lambda: 1.0);

        var masks = Enumerable.Repeat(new StoredMaskedMix.Mask(null, null), models).ToArray();
        var settings = new StoredMaskedMix.Settings(bf16, consensus, true, LinearDivisor(bf16, weights), false, 1f);
        var addresses = Addresses(inputs);
        var wordAddresses = Addresses(words);
        var baseAddress = Addresses([baseValues])[0];
        var output = new ushort[length];
        var computed = new bool[length];
        // Chunks starting on every 16-bit word, not only on every other one: the kernel reads two words per 32 entries.
        var sizes = new[] { 48, 32, 80, 64, 16 };
        for (int start = 0, c = 0; start < length; start += sizes[c++ % sizes.Length])
        {
            var count = Math.Min(sizes[c % sizes.Length], length - start);
            var kept = Enumerable.Range(0, models).Select(m =>
                    m == wholeModel ? default
                    : m == drawnModel ? StoredMaskedMix.RandomMask.FromDraws(counter, start, RandomKeep.Limit(Density), scales[m])
                    : StoredMaskedMix.RandomMask.FromBits(wordAddresses[m] + start / 16 * sizeof(ushort), scales[m]))
                .ToArray();
            var at = addresses.Select(a => a + start * sizeof(ushort)).ToArray();

            var done = StoredMaskedMix.Compute(at, baseAddress + start * sizeof(ushort), masks, kept, weights, count,
                settings, output.AsSpan(start));

            Assert.Equal(Avx512F.IsSupported ? count / 32 * 32 : 0, done);
            computed.AsSpan(start, done).Fill(true);
        }

        Assert.Equal(Avx512F.IsSupported, computed.Any(c => c));
        // The chunks' last 16 entries past a multiple of 32 are left to the unfused code: not compared here.
        var left = Enumerable.Range(0, length).Where(e => !computed[e]).ToArray();
        foreach (var e in left)
        {
            output[e] = expected[e];
        }

        AssertSameValues(expected, output, length);
    }

    /// <summary>
    /// mergekit's merge of the masked (and rescaled) task vectors for every element (see the class summary).
    /// </summary>
    private static ushort[] Expected(bool bf16, bool consensus, float[][] masked, ushort[] baseValues, float[] weights,
        bool normalize, double lambda)
    {
        var models = masked.Length;
        var length = baseValues.Length;
        var weighted = new float[models][];
        for (var m = 0; m < models; m++)
        {
            weighted[m] = new float[length];
            for (var e = 0; e < length; e++)
            {
                weighted[m][e] = Round(bf16, masked[m][e] * weights[m]);
            }
        }

        var expected = new ushort[length];
        for (var e = 0; e < length; e++)
        {
            var sum = weighted[0][e];
            for (var m = 1; m < models; m++)
            {
                sum += weighted[m][e];
            }

            float mixed, divisor;
            if (consensus)
            {
                var positive = Round(bf16, sum) >= 0;
                (mixed, divisor) = (0f, 0f);
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
                divisor = divisor == 0 ? 1f : divisor;
            }
            else
            {
                (mixed, divisor) = (Round(bf16, sum), LinearDivisor(bf16, weights));
            }

            if (normalize)
            {
                mixed = Round(bf16, mixed / divisor);
            }

            if (lambda != 1.0)
            {
                mixed = Round(bf16, mixed * (float)lambda);
            }

            expected[e] = BFloat16.FromSingle(Round(bf16, mixed + Decode(baseValues[e])));
        }

        return expected;
    }

    /// <summary>Σw rounded; 1 where its magnitude is below 1e-8 (mergekit's divisor without consensus).</summary>
    private static float LinearDivisor(bool bf16, float[] weights)
    {
        var sum = 0f;
        foreach (var w in weights)
        {
            sum += w; // in float32, as torch sums a float32 or bf16 tensor
        }

        sum = Round(bf16, sum);
        return Math.Abs(sum) < Round(bf16, 1e-8f) ? 1f : sum;
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
