using System.Runtime.Intrinsics.X86;
using MergeBuild.Methods;
using MergeBuild.Tensors;

namespace MergeBuild.Core.Tests.Methods;

/// <summary>
/// The magnitude sparsifier with banded counting (<see cref="BandedHistogram"/>, lowered here to small tensors) against
/// a plain reference: rank every entry by magnitude key (larger first, lower index first among equals) and keep those
/// ranked below k, minus those ranked below the excluded k. The data is bf16-coarse (many entries share a key), once
/// alike all through the tensor and once with a start unlike the rest, where the bands estimated from the start miss
/// and a recount pass must follow. Each case runs twice: counting float32 task vectors, and counting them from the stored
/// bf16 bits of a fine-tune and a base (<see cref="MagnitudeStream.TryObserveStored"/>, which computes the task vector in
/// registers where it only counts).
/// </summary>
public class BandedHistogramTests
{
    private const int Count = (1 << 16) + 123;
    private const long MinimumBanded = 1 << 14;

    public static TheoryData<DType, double, double, bool, int, bool> Cases()
    {
        var data = new TheoryData<DType, double, double, bool, int, bool>();
        foreach (var dtype in new[] { DType.BF16, DType.F32 })
        {
            foreach (var drifting in new[] { false, true })
            {
                foreach (var stored in new[] { false, true })
                {
                    data.Add(dtype, 0.5, -1, drifting, 4096, stored);
                    data.Add(dtype, 0.1, -1, drifting, 1000, stored);
                    data.Add(dtype, 0.97, -1, drifting, 4096, stored);
                    data.Add(dtype, 0.9, 0.01, drifting, 1000, stored);
                    data.Add(dtype, 0.6, 0.3, drifting, 4096, stored);
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Banded_counts_keep_exactly_the_top_k_and_recount_only_when_the_start_misleads(DType dtype,
        double density, double outliers, bool drifting, int chunk, bool stored)
    {
        var values = Values(dtype, drifting);
        var (fineTune, baseModel) = stored ? Stored(values) : ([], []);
        if (stored)
        {
            // The task vector as the stored bits give it, D(x − b), is what gets ranked.
            values = [.. fineTune.Select((x, i) => FloatCodec.Round(dtype, StoredBits.Decode(x) - StoredBits.Decode(baseModel[i])))];
        }

        var (plannedPasses, passes) = AssertKeepsTopK(dtype, density, outliers, chunk, values, fineTune, baseModel, stored);

        // Banding needs AVX-512 (vpcompressd); without it every entry is counted in full and no recount is planned.
        var lowPass = dtype == DType.BF16 ? 0 : 1;
        Assert.Equal(Avx512F.IsSupported ? 2 + lowPass : 1 + lowPass, plannedPasses);
        Assert.Equal(Avx512F.IsSupported && drifting ? 2 + lowPass : 1 + lowPass, passes);
    }

    /// <summary>
    /// Stored bf16 task vectors whose every difference <c>x − b</c> lies exactly halfway between two bf16 values, so
    /// that rounding it to even decides its bucket: in bf16 the banded count compares the unrounded differences with
    /// band edges moved to match, and a halfway difference must land on the side its rounding does.
    /// </summary>
    [Theory]
    [InlineData(0.5, -1.0)]
    [InlineData(0.3, -1.0)]
    [InlineData(0.7, -1.0)]
    [InlineData(0.15, -1.0)]
    [InlineData(0.85, -1.0)]
    [InlineData(0.9, 0.05)]
    [InlineData(0.6, 0.2)]
    public void Differences_halfway_between_bf16_values_are_counted_in_the_bucket_they_round_to(double density,
        double outliers)
    {
        // x = (q + 1)·2^(e+1) and b = 2^e are bf16 values, and x − b = (2q + 1)·2^e has nine significant bits: the
        // float32 difference is exact, its lower 16 bits are 0x8000, and rounding it to bf16 goes to the even neighbour.
        var random = new Random(5);
        var fineTune = new ushort[Count];
        var baseModel = new ushort[Count];
        for (var i = 0; i < Count; i++)
        {
            var q = random.Next(128, 256);
            var e = random.Next(-14, -6);
            var sign = random.Next(2) == 0 ? 1f : -1f;
            fineTune[i] = BFloat16.FromSingle(sign * (q + 1) * MathF.ScaleB(1f, e + 1));
            baseModel[i] = BFloat16.FromSingle(sign * MathF.ScaleB(1f, e));
        }

        var values = fineTune.Select((x, i) => StoredBits.Decode(x) - StoredBits.Decode(baseModel[i])).ToArray();
        Assert.All(values, v => Assert.Equal(0x8000u, BitConverter.SingleToUInt32Bits(v) & 0xFFFF));
        AssertKeepsTopK(DType.BF16, density, outliers, 4096, [.. values.Select(v => FloatCodec.Round(DType.BF16, v))],
            fineTune, baseModel, stored: true);
    }

    /// <summary>
    /// The band edges for unrounded keys: for every finite bf16 magnitude, the first float32 magnitude that rounds to
    /// it or above (to nearest even, by the bf16 conversion), and the one below it rounds lower. Above the finite
    /// range the buckets are infinity's and the NaNs', whose keys have a zero lower half.
    /// </summary>
    [Fact]
    public void An_unrounded_band_edge_is_the_first_float32_magnitude_that_rounds_into_the_band()
    {
        static int BucketOf(uint key) => BFloat16.FromSingle(BitConverter.UInt32BitsToSingle(key)) & 0x7FFF;

        for (var bucket = 1; bucket <= 0x7F80; bucket++)
        {
            var first = BandedHistogram.FirstKey(bucket, unrounded: true);
            Assert.True(BucketOf(first) >= bucket, $"bucket {bucket:X4}: key {first:X8} rounds to {BucketOf(first):X4}");
            Assert.True(BucketOf(first - 1) < bucket, $"bucket {bucket:X4}: key {first - 1:X8} rounds to {BucketOf(first - 1):X4}");
            Assert.Equal((uint)bucket << 16, BandedHistogram.FirstKey(bucket, unrounded: false));
        }

        Assert.Equal(0u, BandedHistogram.FirstKey(0, unrounded: true));
    }

    [Fact]
    public void Small_tensors_are_counted_in_full_with_no_recount_planned()
    {
        var stream = new MagnitudeStream(DType.BF16, new TopKSelection(10, 100), null, rescale: false, 100);
        Assert.Equal(1, stream.Passes);
    }

    /// <summary>
    /// Streams <paramref name="values"/> (or, stored, the bits they were computed from) through a magnitude selection
    /// with banded counting and checks every entry against the plain ranking; returns the passes planned and run.
    /// </summary>
    private static unsafe (int Planned, int Run) AssertKeepsTopK(DType dtype, double density, double outliers, int chunk,
        float[] values, ushort[] fineTune, ushort[] baseModel, bool stored)
    {
        var k = (long)(density * Count);
        var excludeK = outliers < 0 ? -1 : (long)(outliers * Count);
        var stream = new MagnitudeStream(dtype, new TopKSelection(k, Count),
            excludeK < 0 ? null : new TopKSelection(excludeK, Count), rescale: false, Count, MinimumBanded);
        var plannedPasses = stream.Passes;
        var scratch = new float[chunk];
        for (var pass = 0; pass < stream.Passes; pass++)
        {
            for (var start = 0; start < Count; start += chunk)
            {
                var part = values.AsSpan(start, Math.Min(chunk, Count - start)).ToArray();
                fixed (ushort* x = fineTune, b = baseModel)
                {
                    var at = new MergeChunk(start, part.Length, 0);
                    if (!(stored && stream.TryObserveStored(pass, (nint)(x + start), (nint)(b + start), at, scratch)))
                    {
                        stream.Observe(pass, part, at, scratch);
                    }
                }
            }

            stream.EndPass(pass);
        }

        var masked = (float[])values.Clone();
        for (var start = 0; start < Count; start += chunk)
        {
            var length = Math.Min(chunk, Count - start);
            stream.Apply(masked.AsSpan(start, length), new MergeChunk(start, length, 0), scratch);
        }

        var rank = MagnitudeRanks.Of(values);
        for (var i = 0; i < Count; i++)
        {
            var kept = rank[i] < k && !(excludeK >= 0 && rank[i] < excludeK);
            var expected = kept ? values[i] : values[i] * 0f;
            Assert.True(BitConverter.SingleToUInt32Bits(expected) == BitConverter.SingleToUInt32Bits(masked[i]),
                $"entry {i} (rank {rank[i]}): expected {expected}, got {masked[i]}");
        }


        return (plannedPasses, stream.Passes);
    }

    /// <summary>
    /// A base and a fine-tune <paramref name="values"/> away from it, as stored bf16 bits. Each base value is ±20 or
    /// ±0.37 times its task-vector value, so the stored task vector keeps the values' scale (and a drifting start stays
    /// unlike the rest); where the base is the smaller, <c>x − b</c> has more bits than bf16 and must be rounded.
    /// </summary>
    private static (ushort[] FineTune, ushort[] Base) Stored(float[] values)
    {
        var random = new Random(11);
        float[] factors = [20f, -20f, 0.37f, -0.37f];
        var baseModel = values.Select(v => BFloat16.FromSingle(v * factors[random.Next(factors.Length)])).ToArray();
        var fineTune = values.Select((v, i) => BFloat16.FromSingle(StoredBits.Decode(baseModel[i]) + v)).ToArray();
        return (fineTune, baseModel);
    }

    /// <summary>
    /// Task-vector-like values: a few hundred distinct bf16 magnitudes, both signs, zeros and a few large outliers.
    /// Drifting data starts with an eighth a thousand times smaller than the rest.
    /// </summary>
    private static float[] Values(DType dtype, bool drifting)
    {
        var random = new Random(drifting ? 7 : 3);
        var values = new float[Count];
        for (var i = 0; i < Count; i++)
        {
            var gaussian = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
            var scale = drifting && i < Count / 8 ? 1e-6 : 1e-3;
            var value = random.Next(50) == 0 ? 0f : random.Next(1000) == 0 ? 3f : (float)(gaussian * scale);
            values[i] = FloatCodec.Round(dtype, value);
        }

        return values;
    }
}
