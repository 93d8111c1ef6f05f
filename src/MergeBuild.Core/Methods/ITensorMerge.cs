namespace MergeBuild.Methods;

/// <summary>
/// How a method computes one output tensor from streamed chunks. The executor reads the tensor's inputs chunk by
/// chunk, in order: first <see cref="StatisticsPasses"/> times through <see cref="Observe"/> (a method that needs a
/// per-tensor statistic — a top-k threshold, a norm, an L1 sum — gathers it here), then once through
/// <see cref="Merge"/>, which fills each output chunk. Peak memory is then a few chunks per input, not the tensor.
/// </summary>
/// <remarks>
/// Chunks arrive in ascending order within a pass, one at a time, so state may count things across chunks (e.g. how
/// many threshold-equal elements were already kept, for deterministic tie-breaking). When
/// <see cref="ChunksAreIndependent"/> is true the output pass may instead run chunks in any order and in parallel.
/// </remarks>
public interface ITensorMerge
{
    /// <summary>Passes over the inputs before the output pass (0 for element-wise methods).</summary>
    /// <remarks>
    /// Read again after every <see cref="EndPass"/>: a merge may lower it when the remaining passes turn out to be
    /// unnecessary (an iteration converged, a threshold needs no refinement); it never rises.
    /// </remarks>
    int StatisticsPasses { get; }

    /// <summary>True when an output chunk depends only on its own input chunks and the finished statistics.</summary>
    bool ChunksAreIndependent { get; }

    /// <summary>False when the output pass ignores the input buffers (the result was computed in <see cref="EndPass"/>).</summary>
    bool OutputPassReadsInputs => true;

    /// <summary>Bytes of memory this tensor's state needs beyond the executor's chunk buffers (for the memory budget).</summary>
    long StateBytes => 0;

    /// <summary>Sees one chunk of the inputs during statistics pass <paramref name="pass"/>.</summary>
    void Observe(int pass, MergeBuffers buffers, MergeChunk chunk);

    /// <summary>Called after the last chunk of statistics pass <paramref name="pass"/>.</summary>
    void EndPass(int pass);

    /// <summary>Computes the output values of one chunk into <see cref="MergeBuffers.Output"/>.</summary>
    void Merge(MergeBuffers buffers, MergeChunk chunk);
}
