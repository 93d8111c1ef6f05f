namespace MergeBuild.Methods;

/// <summary>
/// An element-wise merge that reads its inputs' stored bytes itself and writes its output's stored bytes, one pass
/// per chunk with every value in registers: the executor then neither decodes each input chunk into a float32 buffer
/// for the method to read back nor encodes the method's float32 output (for a three-model bf16 linear merge those
/// passes were half the kernels' time).
/// </summary>
public interface IStoredBytesMerge
{
    /// <summary>True when this tensor's inputs and output are stored in a form the merge reads and writes itself.</summary>
    bool ReadsStoredBytes { get; }

    /// <summary>Merges <paramref name="count"/> elements from the inputs' stored bytes into the output's.</summary>
    /// <param name="inputs">
    /// The address of each input's stored bytes for the chunk, in the job's input order (the base model last, when
    /// the job has one); each stays valid for the call (the executor passes addresses inside the memory maps).
    /// </param>
    /// <param name="count">Elements in the chunk.</param>
    /// <param name="output">The chunk's output bytes in the job's output dtype.</param>
    void MergeStored(ReadOnlySpan<nint> inputs, int count, Span<byte> output);
}
