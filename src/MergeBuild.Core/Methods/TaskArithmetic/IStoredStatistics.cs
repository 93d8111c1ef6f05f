namespace MergeBuild.Methods;

/// <summary>
/// A streamed sparsifier that can gather a statistics pass's chunk from the stored bf16 bits of the fine-tune and the
/// base, computing the task vector in registers instead of reading it from a float32 buffer.
/// </summary>
internal interface IStoredStatistics
{
    /// <summary>
    /// Does what <see cref="IStreamSparsifier.Observe"/> does with the chunk's task vector <c>D(x − b)</c>, or returns
    /// false having done nothing (the caller then computes the task vector and calls Observe).
    /// </summary>
    /// <param name="pass">The statistics pass.</param>
    /// <param name="fineTune">The address of the fine-tune's first stored bf16 value in the chunk.</param>
    /// <param name="baseModel">The address of the base model's first stored bf16 value in the chunk.</param>
    /// <param name="chunk">Where the chunk lies in the tensor, and the run's seed.</param>
    /// <param name="scratch">Working space of at least the chunk's length.</param>
    bool TryObserveStored(int pass, nint fineTune, nint baseModel, MergeChunk chunk, float[] scratch);
}
