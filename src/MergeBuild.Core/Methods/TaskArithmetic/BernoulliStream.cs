using MergeBuild.Methods.Kernels;
using MergeBuild.Tensors;

namespace MergeBuild.Methods;

/// <summary>
/// The streamed DARE sparsifier (<see cref="BernoulliSparsifier"/>), also DELLA's for lines of one entry: keep entry j
/// when its counter-based draw is below p = W(density). The draw depends only on the global index, so every pass
/// recomputes the same mask.
/// </summary>
/// <remarks>
/// Without rescale there is no statistics pass and chunks are independent. With rescale one pass sums Σ|d| and
/// Σ|kept d| in index order; the output pass then masks and scales by D(Σ|d| / Σ|kept|) in the work dtype W. The
/// statistics pass keeps the mask as bits (<see cref="KeepBits"/>, for tensors up to the mask-cache size) so the
/// output pass does not draw again: the draws were a tenth of a DARE merge's CPU time.
/// </remarks>
internal sealed class BernoulliStream : IStreamSparsifier, IStoredStatistics, IRandomMaskSparsifier
{
    private readonly DType dtype;
    private readonly DType work;
    private readonly bool rescale;
    private readonly ulong limit;
    private readonly int model;
    private readonly string tensorName;
    private readonly OrderedL1Sum before;
    private readonly OrderedL1Sum after;
    private readonly long count;
    private readonly bool cachesMask;
    private KeepBits? keepBits;
    private bool bitsComplete = true;
    private float? ratio;

    /// <param name="dtype">The compute dtype D.</param>
    /// <param name="probability">The keep probability, already rounded to the work dtype.</param>
    /// <param name="rescale">L1-rescale the kept entries.</param>
    /// <param name="model">The model's index (keys its draws).</param>
    /// <param name="tensorName">The output tensor's name (keys its draws).</param>
    /// <param name="count">The tensor's entries.</param>
    /// <param name="maskCacheElements">The largest tensor whose mask is kept as bits between the passes.</param>
    public BernoulliStream(DType dtype, double probability, bool rescale, int model, string tensorName, long count,
        long maskCacheElements = DellaStream.MaskCacheElements)
    {
        this.count = count;
        cachesMask = rescale && count <= maskCacheElements;
        this.dtype = dtype;
        work = WorkDType.ForRandom(dtype);
        this.rescale = rescale;
        limit = RandomKeep.Limit(probability);
        this.model = model;
        this.tensorName = tensorName;
        before = new OrderedL1Sum(dtype);
        after = new OrderedL1Sum(dtype);
    }

    public int Passes => rescale ? 1 : 0;

    public bool ChunksAreIndependent => true;

    public long StateBytes => 128 + (cachesMask ? KeepBits.BytesFor(count) : 0);

    public void Observe(int pass, Span<float> delta, MergeChunk chunk, float[] scratch)
    {
        var random = Random(chunk);
        // Taken on first use: the executor also begins a tensor just to ask how it runs.
        keepBits ??= cachesMask ? new KeepBits(count) : null;
        var words = BitMask.Words(keepBits?.Bits, chunk.Start);
        if (keepBits is not null && words.IsEmpty)
        {
            // A chunk starting inside a 16-bit word (the executor's chunks and windows are powers of two; a caller with
            // other chunk lengths may start one there): the output pass draws again.
            bitsComplete = false;
        }

        if (RandomKeep.AbsSums(random, chunk.Start, limit, delta, words) is var (all, kept, min, max))
        {
            // Both sums from one pass; a chunk whose lanes may differ from the sequential sum is redone in order.
            var summed = before.TryAdd(all, min, max);
            var keptSummed = after.TryAdd(kept, min, max);
            AddInOrder(summed, keptSummed, delta, scratch.AsSpan(0, delta.Length), random, chunk.Start);
        }
        else
        {
            // No bits from this chunk (no 512-bit vectors): the output pass draws again.
            bitsComplete = false;
            before.Add(delta);
            AddInOrder(summed: true, keptSummed: false, delta, scratch.AsSpan(0, delta.Length), random, chunk.Start);
        }
    }

    public bool TryObserveStored(int pass, nint fineTune, nint baseModel, MergeChunk chunk, float[] scratch)
    {
        if (dtype is not (DType.BF16 or DType.F32))
        {
            return false;
        }

        keepBits ??= cachesMask ? new KeepBits(count) : null;
        var words = BitMask.Words(keepBits?.Bits, chunk.Start);
        var random = Random(chunk);
        var roundToBf16 = dtype == DType.BF16;
        if ((keepBits is not null && words.IsEmpty) ||
            RandomKeep.AbsSumsStored(random, chunk.Start, limit, roundToBf16, fineTune, baseModel, chunk.Count, words)
                is not var (all, kept, min, max))
        {
            return false;
        }

        var summed = before.TryAdd(all, min, max);
        var keptSummed = after.TryAdd(kept, min, max);
        if (summed && keptSummed)
        {
            return true;
        }

        // A chunk whose lanes may differ from the sequential sums: the task vector written out after all.
        var delta = scratch.AsSpan(0, chunk.Count);
        StoredDifference.Compute(roundToBf16, fineTune, baseModel, delta);
        AddInOrder(summed, keptSummed, delta, delta, random, chunk.Start);
        return true;
    }

    /// <summary>
    /// Adds, one element at a time in index order, the sums of a chunk that its lane sums did not add: Σ|d| unless
    /// <paramref name="summed"/>, Σ|kept d| (masking <paramref name="masked"/>, a copy of the task vector or the task
    /// vector itself) unless <paramref name="keptSummed"/>.
    /// </summary>
    private void AddInOrder(bool summed, bool keptSummed, ReadOnlySpan<float> delta, Span<float> masked,
        CounterRandom random, long start)
    {
        if (!summed)
        {
            before.AddSequentially(delta);
        }

        if (!keptSummed)
        {
            delta.CopyTo(masked);
            RandomKeep.Apply(random, start, limit, masked);
            after.Add(masked);
        }
    }

    public void EndPass(int pass)
    {
        ratio = L1Rescale.Ratio(before.Rounded(work), after.Rounded(work), work);
        if (!bitsComplete)
        {
            // Some chunk's bits are missing: the output pass draws every entry again.
            keepBits?.Release();
            keepBits = null;
        }
    }

    public bool TryStoredMask(MergeChunk chunk, out StoredMaskedMix.RandomMask randomMask)
    {
        if (ratio is float.NaN)
        {
            randomMask = default;
            return false;
        }

        // The bits where they were kept (for every chunk) and this chunk starts on a word of them; otherwise draws again.
        randomMask = keepBits is { } bits && !BitMask.Words(bits.Bits, chunk.Start).IsEmpty
            ? StoredMaskedMix.RandomMask.FromBits(bits.WordAddress(chunk.Start), ratio)
            : StoredMaskedMix.RandomMask.FromDraws(Random(chunk), chunk.Start, limit, ratio);
        return true;
    }

    public void Fused(int entries) => keepBits?.Applied(entries);

    public void Apply(Span<float> delta, MergeChunk chunk, float[] scratch)
    {
        if (keepBits is { } kept)
        {
            BitMask.Apply(delta, kept.Bits, chunk.Start);
            kept.Applied(delta.Length);
        }
        else
        {
            RandomKeep.Apply(Random(chunk), chunk.Start, limit, delta);
        }

        if (ratio is { } r)
        {
            L1Rescale.Scale(delta, r, work);
        }

        if (work != dtype)
        {
            FloatCodec.RoundTo(dtype, delta);
        }
    }

    // Built per call (a short hash): Apply may run on several threads at once when chunks are independent.
    private CounterRandom Random(MergeChunk chunk) => new(chunk.Seed, model, tensorName);
}
