using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using MergeBuild.Checkpoints;
using MergeBuild.Methods;
using MergeBuild.Planning;
using MergeBuild.Tensors;

namespace MergeBuild.Execution;

/// <summary>What every worker of one merge shares.</summary>
internal sealed record MergeRun(
    IMergeMethod Method,
    IReadOnlyDictionary<PlannedModel, CheckpointReader> Readers,
    CheckpointWriter Writer,
    MergeOptions Options,
    ProgressTracker Progress,
    MemoryBudget Budget,
    CancellationToken CancellationToken);

/// <summary>
/// One worker thread's loop body: reads input windows from the memory maps, decodes them chunk by chunk into small
/// float32 buffers that stay in cache, lets the method compute, encodes the output window and writes it with one
/// positional write. Input pages are prefetched one window ahead and released once read, so resident memory stays
/// at a few windows whatever the model's size.
/// </summary>
internal sealed class TensorWorker(MergeRun run)
{
    private MergeBuffers? buffers;
    private ReindexedInputs? reindexed;
    private byte[] outputBytes = [];

    public void Run(WorkItem item)
    {
        run.CancellationToken.ThrowIfCancellationRequested();
        if (item.IsCopy)
        {
            Copy(item);
        }
        else if (item.IsSequential)
        {
            RunSequential(item.Job, item.State!);
        }
        else
        {
            OutputWindow(item.Job, item.State!, item.Start, (int)item.Count);
        }
    }

    private void Copy(WorkItem item)
    {
        var input = item.Job.Inputs[0];
        var size = DTypes.SizeOf(input.Tensor.DType);
        var reader = run.Readers[input.Model];
        var (offset, length) = (item.Start * size, item.Count * size);
        reader.Advise(input.Tensor.Name, offset + length, length, PageAdvice.WillNeed);
        run.Writer.Write(item.Job.OutputName, offset, reader.GetBytes(input.Tensor.Name, offset, (int)length));
        reader.Advise(input.Tensor.Name, offset, length, PageAdvice.DontNeed);
        run.Progress.Written(item.Job, length);
    }

    /// <summary>A tensor whose method needs statistics passes (or ordered chunks): every pass in order, then the output.</summary>
    private void RunSequential(TensorJob job, ITensorMerge state)
    {
        var isReindexed = job.Vocabulary is not null;
        var kept = KeptElements(job, state);
        var taken = run.Budget.Acquire(state.StateBytes + kept * InputBytesPerElement(job) +
                                       (isReindexed ? ReindexedInputs.BytesFor(job) : 0), run.CancellationToken);
        try
        {
            reindexed = isReindexed ? ReindexedInputs.Read(job, run.Readers) : null;
            var stored = StoredBytesMerge(state);
            var window = run.Options.WindowElements;
            for (var pass = 0; pass < state.StatisticsPasses; pass++)
            {
                for (long start = 0; start < job.ElementCount; start += window)
                {
                    run.CancellationToken.ThrowIfCancellationRequested();
                    var count = (int)Math.Min(window, job.ElementCount - start);
                    Prefetch(job, start + count, count);
                    if (stored is not null)
                    {
                        ForEachStoredChunk(job, start, count, (addresses, b, chunk) => stored.ObserveStored(pass, addresses, chunk, b));
                    }
                    else
                    {
                        ForEachChunk(job, start, count, load: true, (b, chunk) => state.Observe(pass, b, chunk));
                    }

                    if (start + count > kept)
                    {
                        Release(job, start, count);
                    }
                }

                state.EndPass(pass);
            }

            for (long start = 0; start < job.ElementCount; start += window)
            {
                run.CancellationToken.ThrowIfCancellationRequested();
                OutputWindow(job, state, start, (int)Math.Min(window, job.ElementCount - start));
            }

            if (!state.OutputPassReadsInputs)
            {
                Release(job, 0, kept);
            }

            if (job.ElementCount == 0)
            {
                run.Progress.Written(job, 0);
            }
        }
        finally
        {
            reindexed = null;
            run.Budget.Release(taken);
        }
    }

    /// <summary>
    /// How many leading elements of a tensor read more than once keep their input pages mapped from the first
    /// statistics pass until the output pass releases them, in whole windows: with the tensor's state, up to an eighth
    /// of the memory budget shared by the workers (64 MB each for two workers and the default budget). Released after
    /// each pass, every page would be mapped again by the next (page faults, and the TLB shootdowns that unmapping
    /// costs while the other worker runs). Measured on 3 × 1 GB bf16 models, CLI merges: slerp's system time went from
    /// 0.84-0.96 s to 0.59-0.62 s and its wall time from 1.50-1.74 s to 1.34-1.47 s (peak RSS 80 → 194 MB); a quarter
    /// of the budget saved a little more (0.49-0.51 s, 1.32-1.36 s) for 325 MB, half no more than that.
    /// </summary>
    private long KeptElements(TensorJob job, ITensorMerge state)
    {
        var readAgain = state.StatisticsPasses > 1 || (state.StatisticsPasses == 1 && state.OutputPassReadsInputs);
        if (!readAgain || job.Vocabulary is not null)
        {
            return 0;
        }

        // A tensor whose own state already fills the share (whole-tensor methods on large tensors) keeps nothing.
        var window = run.Options.WindowElements;
        var share = run.Budget.Limit / (8L * Math.Max(1, run.Options.Threads)) - state.StateBytes;
        var windows = Math.Max(0, share) / Math.Max(1, InputBytesPerElement(job) * window);
        return Math.Min(job.ElementCount, windows * window);
    }

    private static long InputBytesPerElement(TensorJob job) =>
        job.Inputs.Sum(i => (long)DTypes.SizeOf(i.Tensor.DType)) + (job.Base is { } b ? DTypes.SizeOf(b.Tensor.DType) : 0);

    private void OutputWindow(TensorJob job, ITensorMerge state, long start, int count)
    {
        var outputSize = DTypes.SizeOf(job.OutputDType);
        var bytes = OutputBytes(count * outputSize);
        if (state.OutputPassReadsInputs)
        {
            Prefetch(job, start + count, count);
        }

        if (StoredBytesMerge(state) is { } stored)
        {
            ForEachStoredChunk(job, start, count, (addresses, b, chunk) =>
            {
                var at = (int)(chunk.Start - start) * outputSize;
                stored.MergeStored(addresses, chunk, b, outputBytes.AsSpan(at, chunk.Count * outputSize));
            });
        }
        else
        {
            ForEachChunk(job, start, count, state.OutputPassReadsInputs, (b, chunk) =>
            {
                state.Merge(b, chunk);
                var at = (int)(chunk.Start - start) * outputSize;
                FloatCodec.FromSingle(job.OutputDType, b.Output.AsSpan(0, chunk.Count),
                    outputBytes.AsSpan(at, chunk.Count * outputSize));
            });
        }

        run.Writer.Write(job.OutputName, start * outputSize, bytes);
        if (state.OutputPassReadsInputs)
        {
            Release(job, start, count);
        }

        run.Progress.Written(job, bytes.Length);
    }

    /// <summary>The merge when it reads this tensor's stored bytes itself (re-indexed embeddings are decoded rows).</summary>
    private IStoredBytesMerge? StoredBytesMerge(ITensorMerge state) =>
        state is IStoredBytesMerge { ReadsStoredBytes: true } stored && reindexed is null ? stored : null;

    private delegate void StoredChunkAction(ReadOnlySpan<nint> addresses, MergeBuffers buffers, MergeChunk chunk);

    /// <summary>Calls <paramref name="body"/> with each chunk's stored-byte addresses (the base model's last).</summary>
    private unsafe void ForEachStoredChunk(TensorJob job, long start, int count, StoredChunkAction body)
    {
        var chunkElements = run.Options.ChunkElements;
        var b = Buffers(job, Math.Min(chunkElements, count));
        IReadOnlyList<JobInput> inputs = job.Base is null ? job.Inputs : [.. job.Inputs, job.Base];
        Span<nint> addresses = inputs.Count <= 16 ? stackalloc nint[inputs.Count] : new nint[inputs.Count];
        for (var offset = 0; offset < count; offset += chunkElements)
        {
            var chunk = new MergeChunk(start + offset, Math.Min(chunkElements, count - offset), run.Options.RandomSeed);
            for (var i = 0; i < inputs.Count; i++)
            {
                var tensor = inputs[i].Tensor;
                var size = DTypes.SizeOf(tensor.DType);
                var bytes = run.Readers[inputs[i].Model].GetBytes(tensor.Name, chunk.Start * size, chunk.Count * size);

                // The span lies in a memory map, which never moves: its address stays valid while the reader is open.
                addresses[i] = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetReference(bytes));
            }

            body(addresses, b, chunk);
        }
    }

    private void ForEachChunk(TensorJob job, long start, int count, bool load, Action<MergeBuffers, MergeChunk> body)
    {
        var chunkElements = run.Options.ChunkElements;
        var b = Buffers(job, Math.Min(chunkElements, count));
        for (var offset = 0; offset < count; offset += chunkElements)
        {
            var chunk = new MergeChunk(start + offset, Math.Min(chunkElements, count - offset), run.Options.RandomSeed);
            if (load)
            {
                for (var i = 0; i < job.Inputs.Count; i++)
                {
                    Load(job.Inputs[i], job.ComputeDType, chunk, b.Inputs[i]);
                }

                if (job.Base is { } baseInput)
                {
                    Load(baseInput, job.ComputeDType, chunk, b.Base!);
                }
            }

            body(b, chunk);
        }
    }

    /// <summary>Decodes one input chunk to float32 and rounds it to the compute dtype (mergekit casts on load).</summary>
    private void Load(JobInput input, DType computeDType, MergeChunk chunk, float[] destination)
    {
        if (reindexed is not null)
        {
            // Re-indexed embeddings are already in the compute dtype, laid out in the output vocabulary's rows.
            reindexed.Load(input.Model, chunk.Start, destination.AsSpan(0, chunk.Count));
            return;
        }

        var tensor = input.Tensor;
        var size = DTypes.SizeOf(tensor.DType);
        var bytes = run.Readers[input.Model].GetBytes(tensor.Name, chunk.Start * size, chunk.Count * size);
        var values = destination.AsSpan(0, chunk.Count);
        FloatCodec.ToSingle(tensor.DType, bytes, values);
        if (tensor.DType != computeDType)
        {
            Methods.Kernels.Rounding.InPlace(computeDType, values);
        }
    }

    private void Prefetch(TensorJob job, long start, int count) => Advise(job, start, count, PageAdvice.WillNeed);

    private void Release(TensorJob job, long start, long count) => Advise(job, start, count, PageAdvice.DontNeed);

    private void Advise(TensorJob job, long start, long count, PageAdvice advice)
    {
        if (start >= job.ElementCount || count <= 0 || job.Vocabulary is not null)
        {
            return;
        }

        foreach (var input in job.Base is null ? job.Inputs : job.Inputs.Append(job.Base))
        {
            var size = DTypes.SizeOf(input.Tensor.DType);
            run.Readers[input.Model].Advise(input.Tensor.Name, start * size, count * size, advice);
        }
    }

    private MergeBuffers Buffers(TensorJob job, int count)
    {
        var hasBase = job.Base is not null;
        if (buffers is null || buffers.Capacity < count || buffers.Inputs.Length != job.Inputs.Count ||
            (buffers.Base is not null) != hasBase)
        {
            buffers = new MergeBuffers(job.Inputs.Count, hasBase, Math.Max(count, buffers?.Capacity ?? 0));
        }

        return buffers;
    }

    private Span<byte> OutputBytes(int length)
    {
        if (outputBytes.Length < length)
        {
            outputBytes = new byte[length];
        }

        return outputBytes.AsSpan(0, length);
    }
}
