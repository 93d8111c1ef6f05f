using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using MergeBuild.Tensors;

namespace MergeBuild.Methods;

/// <summary>
/// The streamed magnitude sparsifiers: TIES keeps the top k = ⌊density·n⌋ magnitudes (<see cref="MagnitudeSparsifier"/>),
/// breadcrumbs keeps the top n − n_bot minus the top n_top (<see cref="OutlierSparsifier"/>). Both are selections in
/// one order, found from magnitude histograms (<see cref="TopKSelection"/>) instead of a sort.
/// </summary>
/// <remarks>
/// Passes: the high-bits histogram (and Σ|d| with rescale); for compute dtypes other than bf16 the low-bits histogram
/// of the threshold buckets; with rescale, one pass applying the mask to sum Σ|masked|. State: one 32768-bucket
/// histogram, and one 65536-bucket low histogram per selection when the dtype needs it.
/// </remarks>
internal sealed class MagnitudeStream : IStreamSparsifier
{
    private readonly DType dtype;
    private readonly bool rescale;
    private readonly bool lowBitsZero;
    private readonly TopKSelection include;
    private readonly TopKSelection? exclude;
    private readonly OrderedL1Sum before;
    private readonly OrderedL1Sum after;
    private long[]? histogram;
    private float? ratio;

    /// <param name="dtype">The compute dtype (the mask and the rescale are computed in it).</param>
    /// <param name="include">The entries kept…</param>
    /// <param name="exclude">…minus these (breadcrumbs' outliers), or null.</param>
    /// <param name="rescale">L1-rescale the kept entries.</param>
    public MagnitudeStream(DType dtype, TopKSelection include, TopKSelection? exclude, bool rescale)
    {
        this.dtype = dtype;
        this.include = include;
        this.exclude = exclude;
        this.rescale = rescale;
        // bf16 values are float32 values with zero low halves: the high histogram already gives the exact key.
        lowBitsZero = dtype == DType.BF16;
        before = new OrderedL1Sum(dtype);
        after = new OrderedL1Sum(dtype);
        Passes = (lowBitsZero ? 1 : 2) + (rescale ? 1 : 0);
    }

    public int Passes { get; }

    public bool ChunksAreIndependent => false;

    public long StateBytes => 8L * TopKSelection.HighBuckets + 2 * TopKSelection.StateBytes(lowBitsZero);

    private int LowPass => lowBitsZero ? -1 : 1;

    private int RescalePass => rescale ? Passes - 1 : -1;

    public void Observe(int pass, Span<float> delta, MergeChunk chunk, float[] scratch)
    {
        if (pass == 0)
        {
            // Allocated on first use: the executor also begins a tensor just to ask how it runs.
            histogram ??= new long[TopKSelection.HighBuckets];
            Count(delta, histogram);
            if (rescale)
            {
                before.Add(delta);
            }
        }
        else if (pass == LowPass)
        {
            CountLow(delta);
        }
        else if (pass == RescalePass)
        {
            var masked = scratch.AsSpan(0, delta.Length);
            delta.CopyTo(masked);
            TopKMask.Apply(masked, include, exclude);
            after.Add(masked);
        }
    }

    public void EndPass(int pass)
    {
        if (pass == 0)
        {
            histogram ??= new long[TopKSelection.HighBuckets];
            include.ReadHigh(histogram, lowBitsZero);
            exclude?.ReadHigh(histogram, lowBitsZero);
            histogram = null;
        }
        else if (pass == LowPass)
        {
            ReadLow(include);
            ReadLow(exclude);
        }

        if (pass == RescalePass)
        {
            ratio = L1Rescale.Ratio(before.Rounded(dtype), after.Rounded(dtype), dtype);
        }

        // The next pass (a rescale pass or the output) walks the tensor from its first entry again.
        include.Seen = 0;
        exclude?.Seen = 0;
    }

    public void Apply(Span<float> delta, MergeChunk chunk, float[] scratch)
    {
        TopKMask.Apply(delta, include, exclude);
        if (ratio is { } r)
        {
            L1Rescale.Scale(delta, r, dtype);
        }
    }

    private static void ReadLow(TopKSelection? selection)
    {
        if (selection is { NeedsLow: true })
        {
            selection.ReadLow();
        }
    }

    private static void Count(ReadOnlySpan<float> values, long[] histogram)
    {
        // The bucket is below 32768 by construction: skip the bounds checks in the hottest loop of the pass.
        ref var counts = ref MemoryMarshal.GetArrayDataReference(histogram);
        foreach (var v in values)
        {
            Unsafe.Add(ref counts, (int)(BitConverter.SingleToUInt32Bits(v) >> 16) & 0x7FFF)++;
        }
    }

    private void CountLow(ReadOnlySpan<float> values)
    {
        var first = include.NeedsLow ? include.Bucket : -1;
        var second = exclude is { NeedsLow: true } ? exclude.Bucket : -1;
        foreach (var v in values)
        {
            var key = MagnitudeRanking.Key(v);
            var bucket = (int)(key >> 16);
            if (bucket == first)
            {
                include.CountLow(key);
            }

            if (bucket == second)
            {
                exclude!.CountLow(key);
            }
        }
    }
}
