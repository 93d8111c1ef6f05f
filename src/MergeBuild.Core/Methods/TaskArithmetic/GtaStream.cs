using System.Runtime.InteropServices;
using MergeBuild.Diagnostics;
using MergeBuild.Methods.Kernels;
using MergeBuild.Planning;
using MergeBuild.Tensors;

namespace MergeBuild.Methods;

/// <summary>
/// A generalized task arithmetic merge of one tensor, streamed: each model's task vector dᵢ = D(xᵢ − b) is recomputed
/// from the chunk in every pass, its sparsifier (<see cref="IStreamSparsifier"/>) gathers what it needs in the
/// statistics passes, and the output pass sparsifies each chunk and mixes it (<see cref="TaskVectorMix"/>).
/// </summary>
/// <remarks>
/// The tensor takes as many statistics passes as its most demanding model: 0 for task arithmetic, DARE without
/// rescale and every density ≥ 1 (then chunks are independent and run in parallel); 1 for DARE with rescale and
/// DELLA; 1 (bf16) or 2 (other dtypes) for TIES and breadcrumbs, plus one with rescale, plus a recount in the rare
/// case that a large tensor's banded histogram misses (<see cref="BandedHistogram"/>). The output is bit-identical to
/// <see cref="GeneralizedTaskArithmeticMethod.Merge"/> on the whole tensor.
/// </remarks>
internal sealed class GtaStream : ITensorMerge, IStoredBytesMerge
{
    private readonly string methodName;
    private readonly DType dtype;
    private readonly IStreamSparsifier?[] sparsifiers;
    private readonly float[] weights;
    private readonly bool consensus;
    private readonly bool normalize;
    private readonly double lambda;
    private readonly MergeBuildException? failure;
    private readonly StoredTaskVectorSum.Settings storedSettings;
    private readonly bool plainSum;
    private readonly StoredMaskedMix.Mask[]? maskedMixMasks;
    private readonly IRandomMaskSparsifier?[] randomMasks;
    private readonly StoredMaskedMix.Settings maskedMixSettings;

    /// <param name="methodName">The method's name (for errors).</param>
    /// <param name="job">The tensor.</param>
    /// <param name="sparsifiers">One per model; null where the task vector is used whole.</param>
    /// <param name="weights">The weights, rounded to the compute dtype.</param>
    /// <param name="consensus">TIES sign election.</param>
    /// <param name="normalize">Divide by the (agreeing) weights.</param>
    /// <param name="lambda">Scale of the merged task vector.</param>
    /// <param name="failure">A recipe error found while setting up, raised when the tensor is first worked on.</param>
    public GtaStream(string methodName, TensorJob job, IStreamSparsifier?[] sparsifiers, float[] weights,
        bool consensus, bool normalize, double lambda, MergeBuildException? failure)
    {
        this.methodName = methodName;
        dtype = job.ComputeDType;
        this.sparsifiers = sparsifiers;
        this.weights = weights;
        this.consensus = consensus;
        this.normalize = normalize;
        this.lambda = lambda;
        this.failure = failure;
        // A failing tensor takes one pass so the error is raised on the worker, where the whole-tensor code raised it.
        ChunksAreIndependent = failure is null && sparsifiers.All(s => s?.ChunksAreIndependent ?? true);
        StateBytes = sparsifiers.Sum(s => s?.StateBytes ?? 0);

        // bf16 checkpoints (the common case) are read from their stored bytes; plain task arithmetic goes from stored
        // bytes to stored bytes in one pass.
        ReadsStoredBytes = failure is null && sparsifiers.Length > 0 && dtype is DType.BF16 or DType.F32 &&
                           job.Vocabulary is null && job.OutputDType == DType.BF16 && job.Base?.Tensor.DType == DType.BF16 &&
                           job.Inputs.All(i => i.Tensor.DType == DType.BF16);
        plainSum = ReadsStoredBytes && !consensus && sparsifiers.All(s => s is null) && weights.All(float.IsFinite) &&
                   !double.IsNaN(lambda);
        storedSettings = new StoredTaskVectorSum.Settings(dtype == DType.BF16,
            normalize ? TaskVectorMix.LinearDivisor(weights, dtype) : null, (float)lambda);

        // TIES, breadcrumbs and breadcrumbs-TIES without rescale, and DARE and DELLA where the statistics pass kept their
        // bits: the output pass runs fused (the selections' state and the bits' count are shared with the unfused code,
        // which finishes each chunk's tail).
        randomMasks = [.. sparsifiers.Select(s => s as IRandomMaskSparsifier)];
        var masks = sparsifiers.Select(s => s switch
            {
                null or IRandomMaskSparsifier => new StoredMaskedMix.Mask(null, null),
                MagnitudeStream magnitude => magnitude.StoredMask,
                _ => null,
            })
            .ToArray();
        maskedMixMasks = ReadsStoredBytes && !plainSum && weights.All(float.IsFinite) && !double.IsNaN(lambda) &&
                         masks.All(m => m.HasValue)
            ? [.. masks.Select(m => m!.Value)]
            : null;
        maskedMixSettings = new StoredMaskedMix.Settings(dtype == DType.BF16, consensus, normalize,
            TaskVectorMix.LinearDivisor(weights, dtype), lambda != 1.0, (float)lambda);
    }

    /// <summary>The most passes any model still plans (a magnitude sparsifier drops an unneeded recount).</summary>
    public int StatisticsPasses =>
        failure is not null ? 1 : sparsifiers.Aggregate(0, (most, s) => Math.Max(most, s?.Passes ?? 0));

    public bool ChunksAreIndependent { get; }

    public long StateBytes { get; }

    public bool ReadsStoredBytes { get; }

    /// <summary>The fine-tunes' addresses come first, the base model's last (see <see cref="IStoredBytesMerge"/>).</summary>
    public void ObserveStored(int pass, ReadOnlySpan<nint> inputs, MergeChunk chunk, MergeBuffers buffers)
    {
        for (var m = 0; m < sparsifiers.Length; m++)
        {
            if (sparsifiers[m] is { } sparsifier && pass < sparsifier.Passes &&
                !(sparsifier is IStoredStatistics stored &&
                  stored.TryObserveStored(pass, inputs[m], inputs[^1], chunk, buffers.Scratch)))
            {
                sparsifier.Observe(pass, StoredDelta(inputs, m, chunk, buffers), chunk, buffers.Scratch);
            }
        }
    }

    /// <inheritdoc cref="ObserveStored"/>
    public void MergeStored(ReadOnlySpan<nint> inputs, MergeChunk chunk, MergeBuffers buffers, Span<byte> output)
    {
        var stored = MemoryMarshal.Cast<byte, ushort>(output)[..chunk.Count];
        if (plainSum)
        {
            StoredTaskVectorSum.Compute(inputs[..^1], inputs[^1], weights, chunk.Count, storedSettings, stored);
            return;
        }

        var fused = FusedMix(inputs, chunk, stored);
        if (fused == chunk.Count)
        {
            return;
        }

        if (fused > 0)
        {
            // The rest of the chunk the unfused way, from where the fused kernel stopped.
            Span<nint> rest = stackalloc nint[inputs.Length];
            for (var i = 0; i < inputs.Length; i++)
            {
                rest[i] = inputs[i] + fused * sizeof(ushort);
            }

            MergeStoredUnfused(rest, chunk with { Start = chunk.Start + fused, Count = chunk.Count - fused }, buffers,
                stored[fused..]);
            return;
        }

        MergeStoredUnfused(inputs, chunk, buffers, stored);
    }

    /// <summary>The chunk's leading elements from the fused kernel, where it applies; how many.</summary>
    private int FusedMix(ReadOnlySpan<nint> inputs, MergeChunk chunk, Span<ushort> stored)
    {
        if (maskedMixMasks is null)
        {
            return 0;
        }

        // Models without a random mask keep the default: their magnitude selection (or none) masks them.
        Span<StoredMaskedMix.RandomMask> kept = stackalloc StoredMaskedMix.RandomMask[randomMasks.Length];
        for (var m = 0; m < kept.Length; m++)
        {
            if (randomMasks[m] is { } random && !random.TryStoredMask(chunk, out kept[m]))
            {
                return 0;
            }
        }

        var fused = StoredMaskedMix.Compute(inputs[..^1], inputs[^1], maskedMixMasks, kept, weights, chunk.Count,
            maskedMixSettings, stored);
        for (var m = 0; m < randomMasks.Length && fused > 0; m++)
        {
            randomMasks[m]?.Fused(fused);
        }

        return fused;
    }

    /// <summary>Task vectors into float32 buffers, each sparsified there, then mixed and encoded (any sparsifier).</summary>
    private void MergeStoredUnfused(ReadOnlySpan<nint> inputs, MergeChunk chunk, MergeBuffers buffers, Span<ushort> stored)
    {
        var baseValues = Base(buffers, chunk);
        BFloat16.ToSingle(StoredValues(inputs[^1], chunk), baseValues);
        for (var m = 0; m < sparsifiers.Length; m++)
        {
            var delta = StoredDelta(inputs, m, chunk, buffers);
            sparsifiers[m]?.Apply(delta, chunk, buffers.Scratch);
        }

        var mixed = buffers.Output.AsSpan(0, chunk.Count);
        TaskVectorMix.Mix(dtype, buffers.Inputs, weights, baseValues, mixed, consensus, normalize, lambda);
        BFloat16.FromSingle(mixed, stored);
    }

    public void Observe(int pass, MergeBuffers buffers, MergeChunk chunk)
    {
        ThrowIfFailed();
        var baseValues = Base(buffers, chunk);
        for (var m = 0; m < sparsifiers.Length; m++)
        {
            if (sparsifiers[m] is { } sparsifier && pass < sparsifier.Passes)
            {
                sparsifier.Observe(pass, Delta(buffers, m, baseValues), chunk, buffers.Scratch);
            }
        }
    }

    public void EndPass(int pass)
    {
        ThrowIfFailed();
        foreach (var sparsifier in sparsifiers)
        {
            if (sparsifier is not null && pass < sparsifier.Passes)
            {
                sparsifier.EndPass(pass);
            }
        }
    }

    public void Merge(MergeBuffers buffers, MergeChunk chunk)
    {
        ThrowIfFailed();
        var baseValues = Base(buffers, chunk);
        var output = buffers.Output.AsSpan(0, chunk.Count);
        if (sparsifiers.Length == 0)
        {
            baseValues.CopyTo(output);
            return;
        }

        for (var m = 0; m < sparsifiers.Length; m++)
        {
            var delta = Delta(buffers, m, baseValues);
            sparsifiers[m]?.Apply(delta, chunk, buffers.Scratch);
        }

        TaskVectorMix.Mix(dtype, buffers.Inputs, weights, baseValues, output, consensus, normalize, lambda);
    }

    private Span<float> Base(MergeBuffers buffers, MergeChunk chunk) =>
        (buffers.Base ?? throw new InvalidOperationException($"{methodName} needs the base model's tensor."))
        .AsSpan(0, chunk.Count);

    /// <summary>dₘ = D(xₘ − b), in place of the model's input (the buffers are this call's working memory).</summary>
    private Span<float> Delta(MergeBuffers buffers, int model, ReadOnlySpan<float> baseValues)
    {
        var delta = buffers.Inputs[model].AsSpan(0, baseValues.Length);
        Fused.Difference(dtype, delta, baseValues, delta);
        return delta;
    }

    /// <summary>dₘ = D(xₘ − b) from the stored bytes, into the model's input buffer.</summary>
    private Span<float> StoredDelta(ReadOnlySpan<nint> inputs, int model, MergeChunk chunk, MergeBuffers buffers)
    {
        var delta = buffers.Inputs[model].AsSpan(0, chunk.Count);
        StoredDifference.Compute(dtype == DType.BF16, inputs[model], inputs[^1], delta);
        return delta;
    }

    private static unsafe ReadOnlySpan<ushort> StoredValues(nint address, MergeChunk chunk) =>
        new((void*)address, chunk.Count);

    private void ThrowIfFailed()
    {
        if (failure is not null)
        {
            throw failure;
        }
    }
}
