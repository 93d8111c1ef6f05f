using MergeBuild.Methods;

namespace MergeBuild.Core.Tests.Methods;

/// <summary>
/// The vectorized magnitude mask against a plain reference: rank every entry by |value| (larger first, lower index
/// first among equals) and keep those ranked below k, minus those ranked below the excluded k. The data has a handful
/// of distinct magnitudes, so most vectors hold threshold-equal lanes and the last taken one falls inside a vector.
/// </summary>
public class TopKMaskTests
{
    private const int Count = 4099;

    public static TheoryData<long, long, int> Cases()
    {
        var data = new TheoryData<long, long, int>();
        foreach (var chunk in new[] { 1, 7, 16, 40, 1000, Count })
        {
            foreach (var (k, exclude) in new (long, long)[] { (0, -1), (1, -1), (517, -1), (2050, -1), (4098, -1), (Count, -1), (3600, 9), (2050, 517), (Count, 2050) })
            {
                data.Add(k, exclude, chunk);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Masked_entries_are_exactly_the_top_k_by_magnitude_then_index(long k, long excludeK, int chunk)
    {
        var values = Values();
        var include = Selection(values, k);
        var exclude = excludeK < 0 ? null : Selection(values, excludeK);

        var masked = (float[])values.Clone();
        for (var start = 0; start < Count; start += chunk)
        {
            TopKMask.Apply(masked.AsSpan(start, Math.Min(chunk, Count - start)), include, exclude);
        }

        var rank = MagnitudeRanks.Of(values);
        for (var i = 0; i < Count; i++)
        {
            var kept = rank[i] < k && !(excludeK >= 0 && rank[i] < excludeK);
            var expected = kept ? values[i] : values[i] * 0f;
            Assert.True(BitConverter.SingleToUInt32Bits(expected) == BitConverter.SingleToUInt32Bits(masked[i]),
                $"entry {i} (|v| rank {rank[i]}): expected {expected}, got {masked[i]}");
        }
    }

    /// <summary>bf16-exact values from eight magnitudes, both signs, in a scrambled order.</summary>
    private static float[] Values()
    {
        var random = new Random(42);
        var magnitudes = new[] { 0f, 0.5f, 0.75f, 1f, 1.5f, 2f, 3f, 0.125f };
        return [.. Enumerable.Range(0, Count).Select(_ =>
            magnitudes[random.Next(magnitudes.Length)] * (random.Next(2) == 0 ? 1f : -1f))];
    }

    /// <summary>A selection of the top <paramref name="k"/>, read from the bf16 high-bits histogram as a pass would.</summary>
    private static TopKSelection Selection(float[] values, long k)
    {
        var selection = new TopKSelection(k, values.Length);
        var histogram = new long[TopKSelection.HighBuckets];
        foreach (var v in values)
        {
            histogram[(BitConverter.SingleToUInt32Bits(v) >> 16) & 0x7FFF]++;
        }

        selection.ReadHigh(histogram, lowBitsZero: true);
        selection.Seen = 0;
        return selection;
    }
}
