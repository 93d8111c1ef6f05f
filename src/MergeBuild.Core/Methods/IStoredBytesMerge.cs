namespace MergeBuild.Methods;

/// <summary>
/// A merge that reads its inputs' stored bytes itself and writes its output's stored bytes: the executor then neither
/// decodes each input chunk into a float32 buffer for the method to read back nor encodes the method's float32
/// output (for a three-model bf16 linear merge those passes were half the kernels' time; for TIES a sixth).
/// </summary>
/// <remarks>
/// When <see cref="ReadsStoredBytes"/> is true the executor calls <see cref="ObserveStored"/> and
/// <see cref="MergeStored"/> instead of <see cref="ITensorMerge.Observe"/> and <see cref="ITensorMerge.Merge"/>, with
/// the same chunks in the same order.
/// </remarks>
public interface IStoredBytesMerge
{
    /// <summary>True when this tensor's inputs and output are stored in a form the merge reads and writes itself.</summary>
    bool ReadsStoredBytes { get; }

    /// <summary>Sees one chunk of the inputs' stored bytes during statistics pass <paramref name="pass"/>.</summary>
    /// <param name="pass">The pass, as in <see cref="ITensorMerge.Observe"/>.</param>
    /// <param name="inputs">The stored bytes' addresses, as in <see cref="MergeStored"/>.</param>
    /// <param name="chunk">Where the chunk lies in the tensor.</param>
    /// <param name="buffers">Working memory of at least the chunk's length.</param>
    void ObserveStored(int pass, ReadOnlySpan<nint> inputs, MergeChunk chunk, MergeBuffers buffers) =>
        throw new InvalidOperationException("this merge has no statistics pass");

    /// <summary>Merges one chunk from the inputs' stored bytes into the output's.</summary>
    /// <param name="inputs">
    /// The address of each input's stored bytes for the chunk, in the job's input order (the base model last, when
    /// the job has one); each stays valid for the call (the executor passes addresses inside the memory maps).
    /// </param>
    /// <param name="chunk">Where the chunk lies in the tensor (its element count, its start for ordered state).</param>
    /// <param name="buffers">Working memory of at least the chunk's length.</param>
    /// <param name="output">The chunk's output bytes in the job's output dtype.</param>
    void MergeStored(ReadOnlySpan<nint> inputs, MergeChunk chunk, MergeBuffers buffers, Span<byte> output);
}
