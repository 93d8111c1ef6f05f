using MergeBuild.Tensors;

namespace MergeBuild.Methods;

/// <summary>
/// The streamed magnitude sparsifiers: TIES keeps the top k = ⌊density·n⌋ magnitudes (<see cref="MagnitudeSparsifier"/>),
/// breadcrumbs keeps the top n − n_bot minus the top n_top (<see cref="OutlierSparsifier"/>). Both are selections in
/// one order, found from magnitude histograms (<see cref="TopKSelection"/>) instead of a sort.
/// </summary>
/// <remarks>
/// Passes, in order: the high-bits histogram (and Σ|d| with rescale), counted in bands for large tensors
/// (<see cref="BandedHistogram"/>); a full recount, only when a band missed its threshold (planned, and dropped
/// once the first pass shows it is not needed); for compute dtypes other than bf16 the low-bits histogram of the
/// threshold buckets; with rescale, one pass applying the mask to sum Σ|masked|. State: the interleaved 32768-bucket
/// histograms, and one 65536-bucket low histogram per selection when the dtype needs it.
/// </remarks>
internal sealed class MagnitudeStream : IStreamSparsifier, IStoredStatistics
{
    private enum Phase
    {
        High,
        Recount,
        Low,
        Rescale,
    }

    private readonly DType dtype;
    private readonly bool rescale;
    private readonly bool lowBitsZero;
    private readonly TopKSelection include;
    private readonly TopKSelection? exclude;
    private readonly OrderedL1Sum before;
    private readonly OrderedL1Sum after;
    private readonly List<Phase> phases;
    private BandedHistogram? histogram;
    private float? ratio;

    /// <param name="dtype">The compute dtype (the mask and the rescale are computed in it).</param>
    /// <param name="include">The entries kept…</param>
    /// <param name="exclude">…minus these (breadcrumbs' outliers), or null.</param>
    /// <param name="rescale">L1-rescale the kept entries.</param>
    /// <param name="count">Entries in the tensor.</param>
    /// <param name="minimumBandedCount">Tensors below this many entries are counted in full (tests lower it).</param>
    public MagnitudeStream(DType dtype, TopKSelection include, TopKSelection? exclude, bool rescale, long count,
        long minimumBandedCount = BandedHistogram.MinimumBandedCount)
    {
        this.dtype = dtype;
        this.include = include;
        this.exclude = exclude;
        this.rescale = rescale;
        // bf16 values are float32 values with zero low halves: the high histogram already gives the exact key.
        lowBitsZero = dtype == DType.BF16;
        before = new OrderedL1Sum(dtype);
        after = new OrderedL1Sum(dtype);
        histogram = new BandedHistogram(count, exclude is null ? [include] : [include, exclude], minimumBandedCount);
        phases = [Phase.High];
        if (histogram.IsBanded)
        {
            phases.Add(Phase.Recount);
        }

        if (!lowBitsZero)
        {
            phases.Add(Phase.Low);
        }

        if (rescale)
        {
            phases.Add(Phase.Rescale);
        }
    }

    /// <summary>
    /// The selections as the fused output pass applies them (<see cref="Kernels.StoredMaskedMix"/>), or null when the
    /// kept entries are also rescaled, which only the unfused <see cref="Apply"/> does.
    /// </summary>
    public Kernels.StoredMaskedMix.Mask? StoredMask => rescale ? null : new(include, exclude);

    /// <summary>The passes still planned: one fewer once the first pass shows that no recount is needed.</summary>
    public int Passes => phases.Count;

    public bool ChunksAreIndependent => false;

    public long StateBytes => BandedHistogram.StateBytes(1 << 14) + 2 * TopKSelection.StateBytes(lowBitsZero);

    public void Observe(int pass, Span<float> delta, MergeChunk chunk, float[] scratch)
    {
        switch (phases[pass])
        {
            case Phase.High:
                histogram!.Add(delta);
                if (rescale)
                {
                    before.Add(delta);
                }

                break;
            case Phase.Recount:
                histogram!.Add(delta);
                break;
            case Phase.Low:
                CountLow(delta);
                break;
            case Phase.Rescale:
                var masked = scratch.AsSpan(0, delta.Length);
                delta.CopyTo(masked);
                TopKMask.Apply(masked, include, exclude);
                after.Add(masked);
                break;
        }
    }

    /// <summary>
    /// <see cref="Observe"/> from the stored bf16 bits of the fine-tune and the base where the pass only counts
    /// magnitudes (<see cref="BandedHistogram.AddStored"/>); false, having done nothing, for the other passes.
    /// </summary>
    public bool TryObserveStored(int pass, nint fineTune, nint baseModel, MergeChunk chunk, float[] scratch)
    {
        if (phases[pass] is not (Phase.High or Phase.Recount) || (phases[pass] == Phase.High && rescale) ||
            dtype is not (DType.BF16 or DType.F32))
        {
            return false;
        }

        histogram!.AddStored(fineTune, baseModel, chunk.Count, dtype == DType.BF16, scratch);
        return true;
    }

    public void EndPass(int pass)
    {
        switch (phases[pass])
        {
            case Phase.High or Phase.Recount:
                var total = histogram!.Total();
                include.ReadHigh(total, lowBitsZero);
                exclude?.ReadHigh(total, lowBitsZero);
                if (phases[pass] == Phase.High && phases.Contains(Phase.Recount))
                {
                    if (histogram.Covers(include) && (exclude is null || histogram.Covers(exclude)))
                    {
                        phases.Remove(Phase.Recount);
                    }
                    else
                    {
                        histogram.CountInFull();
                        break;
                    }
                }

                histogram.Release();
                histogram = null;
                break;
            case Phase.Low:
                ReadLow(include);
                ReadLow(exclude);
                break;
            case Phase.Rescale:
                ratio = L1Rescale.Ratio(before.Rounded(dtype), after.Rounded(dtype), dtype);
                break;
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
