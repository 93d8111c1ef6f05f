namespace MergeBuild.Methods;

/// <summary>
/// One model's sparsifier in streamed form (see <see cref="GtaStream"/>): statistics passes over the model's task
/// vector chunk by chunk, then <see cref="Apply"/> on each chunk of the output pass. Whatever it keeps between chunks
/// is O(histogram) or O(row), plus for random masks (DARE, DELLA) one bit per entry on tensors up to 2²⁷ entries
/// (<see cref="KeepBits"/>, at most 16 MiB); all of it is counted in <see cref="StateBytes"/>.
/// </summary>
internal interface IStreamSparsifier
{
    /// <summary>Statistics passes this model needs (the tensor's passes are the most any model needs).</summary>
    int Passes { get; }

    /// <summary>True when <see cref="Apply"/> keeps no state between chunks (they may run in any order, in parallel).</summary>
    bool ChunksAreIndependent { get; }

    /// <summary>Bytes of state held while the tensor is merged.</summary>
    long StateBytes { get; }

    /// <summary>Sees one chunk of the task vector (already rounded to the compute dtype) in statistics pass <paramref name="pass"/>.</summary>
    /// <param name="pass">The pass, below <see cref="Passes"/>.</param>
    /// <param name="delta">The chunk's task-vector values; the sparsifier may overwrite them.</param>
    /// <param name="chunk">Where the chunk lies in the tensor, and the run's seed.</param>
    /// <param name="scratch">Working space of at least the chunk's length.</param>
    void Observe(int pass, Span<float> delta, MergeChunk chunk, float[] scratch);

    /// <summary>Called after the last chunk of statistics pass <paramref name="pass"/>.</summary>
    void EndPass(int pass);

    /// <summary>Sparsifies (and rescales) one chunk of the task vector in place, in the output pass.</summary>
    void Apply(Span<float> delta, MergeChunk chunk, float[] scratch);
}
