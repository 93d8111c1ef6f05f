namespace MergeBuild.Methods;

/// <summary>
/// An element-wise merge that reads each input's stored bytes itself, straight from the memory map into its output
/// accumulator, one input at a time: the executor then writes no decoded float32 copy of every input chunk for the
/// method to read back (for a three-model bf16 linear merge that copy was a third of the kernels' cycles).
/// </summary>
public interface IRawInputMerge
{
    /// <summary>True when this tensor's inputs are stored in a form the merge reads itself.</summary>
    bool ReadsRawInputs { get; }

    /// <summary>Adds input <paramref name="input"/>'s contribution, from its stored bytes, to the output chunk.</summary>
    /// <param name="input">The input's index in the job.</param>
    /// <param name="stored">The chunk's stored bytes (as many elements as <paramref name="output"/> holds).</param>
    /// <param name="output">The chunk's output values, zero before the first input.</param>
    void Accumulate(int input, ReadOnlySpan<byte> stored, Span<float> output);

    /// <summary>Turns the accumulated chunk into its output values.</summary>
    void Finish(Span<float> output);
}
