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
/// entries. A slice inside one chunk is ranked straight from the chunk. A slice cut by a chunk boundary is assembled
/// in a slice buffer during the statistics pass, and its keep mask is kept as bits until the output pass reaches it
/// (the passes see the same chunk boundaries), so the output never waits for entries that have not arrived.</para>
/// <para>The statistics pass also sums Σ|d| per chunk and Σ|masked| per completed slice, both in index order, for the
/// L1 rescale. State: O(S) buffers plus S bits per slice cut by a chunk boundary.</para>
/// </remarks>
internal sealed class DellaStream : IStreamSparsifier
{
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
    private readonly LineRanker ranker = new();
    private readonly Queue<(long Slice, ulong[] Bits)> cutSlices = new();
    private readonly float[] assembly;
    private readonly float[] keep;
    private readonly ulong[] draws;
    private readonly int[] ranks;
    private CounterRandom? random;
    private float? ratio;

    /// <param name="dtype">The compute dtype D.</param>
    /// <param name="shape">The tensor's shape.</param>
    /// <param name="density">The model's density, in (0, 1).</param>
    /// <param name="epsilon">The model's epsilon (already checked against the density).</param>
    /// <param name="rescale">L1-rescale the kept entries.</param>
    /// <param name="model">The model's index (keys its draws).</param>
    /// <param name="tensorName">The output tensor's name (keys its draws).</param>
    public DellaStream(DType dtype, long[] shape, double density, double epsilon, bool rescale, int model,
        string tensorName)
    {
        this.dtype = dtype;
        work = WorkDType.ForRandom(dtype);
        this.rescale = rescale;
        this.model = model;
        this.tensorName = tensorName;
        (slice, length, stride) = Geometry(shape);
        limits = DellaSparsifier.KeepProbabilities(length, density, epsilon, work)
            .Select(p => RandomKeep.Limit(p)).ToArray();
        before = new OrderedL1Sum(dtype);
        after = new OrderedL1Sum(dtype);
        assembly = new float[slice];
        keep = new float[slice];
        draws = new ulong[slice];
        ranks = new int[length];
    }

    public int Passes => 1;

    public bool ChunksAreIndependent => false;

    public long StateBytes => 16L * slice + 12L * length + LineRanker.BytesFor(length);

    /// <summary>The unit DELLA ranks within (S entries) and its lines: length and stride.</summary>
    public static (int Slice, int Length, int Stride) Geometry(long[] shape)
    {
        var count = shape.Aggregate(1L, (a, b) => a * b);
        if (shape.Length < 2)
        {
            return ((int)count, (int)count, 1);
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

        var end = chunk.Start + delta.Length;
        for (var position = chunk.Start; position < end;)
        {
            var index = position / slice;
            var first = index * slice;
            var take = (int)(Math.Min(end, first + slice) - position);
            var offset = (int)(position - chunk.Start);
            if (position == first && take == slice)
            {
                Statistics(delta.Slice(offset, slice), first, store: false, chunk.Seed);
            }
            else
            {
                delta.Slice(offset, take).CopyTo(assembly.AsSpan((int)(position - first)));
                if (position + take == first + slice)
                {
                    Statistics(assembly, first, store: true, chunk.Seed);
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
                for (var j = 0; j < slice; j++)
                {
                    part[j] *= keep[j];
                }
            }
            else
            {
                if (!cutSlices.TryPeek(out var stored) || stored.Slice != index)
                {
                    throw new InvalidOperationException(
                        $"DELLA's output pass on '{tensorName}' met chunk boundaries its statistics pass did not see.");
                }

                var from = (int)(position - first);
                for (var j = 0; j < take; j++)
                {
                    var bit = from + j;
                    part[j] *= (stored.Bits[bit >> 6] >> (bit & 63) & 1) != 0 ? 1f : 0f;
                }

                if (position + take == first + slice)
                {
                    cutSlices.Dequeue();
                }
            }

            position += take;
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

    /// <summary>A complete slice in the statistics pass: its mask, Σ|masked| and, when it was cut, its stored bits.</summary>
    /// <param name="values">The slice's task-vector values (overwritten with the masked values).</param>
    /// <param name="first">Flat index of the slice's first entry.</param>
    /// <param name="store">Whether a chunk boundary cuts the slice, so the output pass needs its mask stored.</param>
    /// <param name="seed">The run's seed.</param>
    private void Statistics(Span<float> values, long first, bool store, ulong seed)
    {
        Mask(values, first, seed);
        if (rescale)
        {
            // Σ|masked| slice by slice: slices complete in order, so the whole sum runs in index order.
            for (var j = 0; j < slice; j++)
            {
                values[j] *= keep[j];
            }

            after.Add(values);
        }

        if (store)
        {
            var bits = new ulong[(slice + 63) / 64];
            for (var j = 0; j < slice; j++)
            {
                if (keep[j] != 0)
                {
                    bits[j >> 6] |= 1UL << (j & 63);
                }
            }

            cutSlices.Enqueue((first / slice, bits));
        }
    }

    /// <summary>Fills <see cref="keep"/> (1 or 0 per entry) for the slice starting at flat index <paramref name="first"/>.</summary>
    private void Mask(ReadOnlySpan<float> values, long first, ulong seed)
    {
        random ??= new CounterRandom(seed, model, tensorName);
        RandomKeep.Draws(random.Value, first, draws.AsSpan(0, slice));
        for (var line = 0; line < stride; line++)
        {
            ranker.Rank(values, line, length, stride, ranks);
            for (var j = 0; j < length; j++)
            {
                var at = line + j * stride;
                keep[at] = draws[at] < limits[ranks[j] - 1] ? 1f : 0f;
            }
        }
    }
}
