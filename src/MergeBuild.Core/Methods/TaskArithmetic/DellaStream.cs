using MergeBuild.Methods.Kernels;
using MergeBuild.Tensors;

namespace MergeBuild.Methods;

/// <summary>
/// The streamed DELLA sparsifier (<see cref="DellaSparsifier"/>) for lines longer than one entry: an entry is kept
/// when its draw is below the keep probability of its magnitude rank within its line.
/// </summary>
/// <remarks>
/// <para>Ranks need whole lines. Every line lies inside one dim-0 slice (a matrix row; a rank ≥ 3 tensor's slice
/// holds <c>inner</c> lines of stride <c>inner</c>; a vector is one slice), so the unit of work is a slice of S
/// entries. The statistics pass ranks every slice (one inside a chunk straight from the chunk, one cut by a chunk
/// boundary once assembled in a slice buffer), sums Σ|d| per chunk and Σ|masked| per slice (both in index order, for
/// the L1 rescale) and keeps the keep mask as bits, one per entry, so the output pass only applies them.</para>
/// <para>The bits are the one piece of state that grows with the tensor (1/32 of its float32 size per model), so they are
/// kept for tensors up to <see cref="MaskCacheElements"/> entries; beyond that only the bits of slices cut by a chunk
/// boundary are kept (the output never waits for entries that have not arrived; both passes see the same chunk
/// boundaries) and whole slices are ranked again in the output pass. State: O(S) buffers plus at most 16 MiB.</para>
/// </remarks>
internal sealed class DellaStream : IStreamSparsifier, IRandomMaskSparsifier
{
    /// <summary>Tensors up to this many entries keep the whole mask as bits (16 MiB per model) between the passes.</summary>
    public const long MaskCacheElements = 1L << 27;

    private readonly DType dtype;
    private readonly DType work;
    private readonly bool rescale;
    private readonly int model;
    private readonly string tensorName;
    private readonly int slice;
    private readonly int length;
    private readonly int stride;
    private readonly ulong[] limits;
    private readonly OrderedL1Sum before;
    private readonly OrderedL1Sum after;
    private readonly Queue<(long Slice, ulong[] Bits)> cutSlices = new();
    private readonly long count;
    private LineRanker? ranker;
    private float[] assembly = [];
    private float[] keep = [];
    private ulong[] draws = [];
    private KeepBits? mask;
    private CounterRandom? random;
    private float? ratio;

    /// <param name="dtype">The compute dtype D.</param>
    /// <param name="shape">The tensor's shape.</param>
    /// <param name="density">The model's density, in (0, 1).</param>
    /// <param name="epsilon">The model's epsilon (already checked against the density).</param>
    /// <param name="rescale">L1-rescale the kept entries.</param>
    /// <param name="model">The model's index (keys its draws).</param>
    /// <param name="tensorName">The output tensor's name (keys its draws).</param>
    /// <param name="maskCacheElements">The largest tensor whose whole mask is kept between the passes.</param>
    public DellaStream(DType dtype, long[] shape, double density, double epsilon, bool rescale, int model,
        string tensorName, long maskCacheElements = MaskCacheElements)
    {
        this.dtype = dtype;
        work = WorkDType.ForRandom(dtype);
        this.rescale = rescale;
        this.model = model;
        this.tensorName = tensorName;
        (slice, length, stride) = Geometry(shape);
        count = shape.Aggregate(1L, (a, b) => a * b);
        CachesMask = count <= maskCacheElements;
        limits = DellaSparsifier.KeepProbabilities(length, density, epsilon, work)
            .Select(p => RandomKeep.Limit(p)).ToArray();
        before = new OrderedL1Sum(dtype);
        after = new OrderedL1Sum(dtype);
    }

    public int Passes => 1;

    public bool ChunksAreIndependent => false;

    public long StateBytes => 16L * slice + 8L * length + LineRanker.BytesFor(length) +
                              (CachesMask ? KeepBits.BytesFor(count) : 0);

    private bool CachesMask { get; }

    /// <summary>The unit DELLA ranks within (S entries) and its lines: length and stride.</summary>
    public static (int Slice, int Length, int Stride) Geometry(long[] shape)
    {
        var elements = shape.Aggregate(1L, (a, b) => a * b);
        if (shape.Length < 2)
        {
            return ((int)elements, (int)elements, 1);
        }

        var inner = 1L;
        for (var d = 2; d < shape.Length; d++)
        {
            inner *= shape[d];
        }

        return ((int)(shape[1] * inner), (int)shape[1], (int)inner);
    }

    public void Observe(int pass, Span<float> delta, MergeChunk chunk, float[] scratch)
    {
        if (rescale)
        {
            before.Add(delta);
        }

        // Buffers are allocated on first use: the executor also begins a tensor just to ask how it runs.
        if (ranker is null)
        {
            ranker = new LineRanker(dtype);
            (assembly, keep, draws) = (new float[slice], new float[slice], new ulong[slice]);
            mask = CachesMask ? new KeepBits(count) : null;
        }

        var end = chunk.Start + delta.Length;
        for (var position = chunk.Start; position < end;)
        {
            var first = position / slice * slice;
            var take = (int)(Math.Min(end, first + slice) - position);
            var offset = (int)(position - chunk.Start);
            if (position == first && take == slice)
            {
                Statistics(delta.Slice(offset, slice), first, cut: false, chunk.Seed);
            }
            else
            {
                delta.Slice(offset, take).CopyTo(assembly.AsSpan((int)(position - first)));
                if (position + take == first + slice)
                {
                    Statistics(assembly, first, cut: true, chunk.Seed);
                }
            }

            position += take;
        }
    }

    public void EndPass(int pass)
    {
        if (rescale)
        {
            ratio = L1Rescale.Ratio(before.Rounded(work), after.Rounded(work), work);
        }
    }

    public void Apply(Span<float> delta, MergeChunk chunk, float[] scratch)
    {
        if (mask is not null)
        {
            BitMask.Apply(delta, mask.Bits, chunk.Start);
            mask.Applied(delta.Length);
        }
        else
        {
            ApplyBySlice(delta, chunk);
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

    public bool TryStoredMask(MergeChunk chunk, out StoredMaskedMix.RandomMask randomMask)
    {
        if (mask is null || BitMask.Words(mask.Bits, chunk.Start).IsEmpty || ratio is float.NaN)
        {
            randomMask = default;
            return false;
        }

        randomMask = StoredMaskedMix.RandomMask.FromBits(mask.WordAddress(chunk.Start), ratio);
        return true;
    }

    public void Fused(int entries) => mask!.Applied(entries);

    /// <summary>Without the cached mask: whole slices are ranked again, cut ones use their stored bits.</summary>
    private void ApplyBySlice(Span<float> delta, MergeChunk chunk)
    {
        var end = chunk.Start + delta.Length;
        for (var position = chunk.Start; position < end;)
        {
            var index = position / slice;
            var first = index * slice;
            var take = (int)(Math.Min(end, first + slice) - position);
            var part = delta.Slice((int)(position - chunk.Start), take);
            if (position == first && take == slice)
            {
                Mask(part, first, chunk.Seed);
                System.Numerics.Tensors.TensorPrimitives.Multiply(part, keep, part);
            }
            else
            {
                if (!cutSlices.TryPeek(out var stored) || stored.Slice != index)
                {
                    throw new InvalidOperationException(
                        $"DELLA's output pass on '{tensorName}' met chunk boundaries its statistics pass did not see.");
                }

                BitMask.Apply(part, stored.Bits, position - first);
                if (position + take == first + slice)
                {
                    cutSlices.Dequeue();
                }
            }

            position += take;
        }
    }

    /// <summary>A complete slice in the statistics pass: its mask, Σ|masked|, and its bits for the output pass.</summary>
    /// <param name="values">The slice's task-vector values (overwritten with the masked values).</param>
    /// <param name="first">Flat index of the slice's first entry.</param>
    /// <param name="cut">Whether a chunk boundary cuts the slice.</param>
    /// <param name="seed">The run's seed.</param>
    private void Statistics(Span<float> values, long first, bool cut, ulong seed)
    {
        Mask(values, first, seed);
        var factors = keep.AsSpan(0, slice);
        if (rescale)
        {
            // Σ|masked| slice by slice: slices complete in order, so the whole sum runs in index order.
            System.Numerics.Tensors.TensorPrimitives.Multiply(values, factors, values);
            after.Add(values);
        }

        if (mask is not null)
        {
            BitMask.Write(factors, mask.Bits, first);
        }
        else if (cut)
        {
            var bits = new ulong[(slice + 63) / 64];
            BitMask.Write(factors, bits, 0);
            cutSlices.Enqueue((first / slice, bits));
        }
    }

    /// <summary>Fills <see cref="keep"/> (1 or 0 per entry) for the slice starting at flat index <paramref name="first"/>.</summary>
    private void Mask(ReadOnlySpan<float> values, long first, ulong seed)
    {
        random ??= new CounterRandom(seed, model, tensorName);
        var sliceDraws = draws.AsSpan(0, slice);
        RandomKeep.Draws(random.Value, first, sliceDraws);
        for (var line = 0; line < stride; line++)
        {
            ranker!.Keep(values, line, length, stride, sliceDraws, limits, keep);
        }
    }
}
