namespace MergeBuild.Methods;

/// <summary>
/// A random sparsifier (DARE's, DELLA's) whose mask the fused output pass (<see cref="Kernels.StoredMaskedMix"/>) can
/// apply in registers, together with the L1 rescale: from the bits its statistics pass kept, or (DARE) by drawing.
/// </summary>
internal interface IRandomMaskSparsifier
{
    /// <summary>
    /// The chunk's mask and rescale as the fused output pass applies them, or false where only
    /// <see cref="IStreamSparsifier.Apply"/> can: DELLA's bits were not kept, or the chunk starts inside a 16-bit word
    /// of them; the factor is NaN. The caller reports the elements it did to <see cref="Fused"/>.
    /// </summary>
    bool TryStoredMask(MergeChunk chunk, out Kernels.StoredMaskedMix.RandomMask randomMask);

    /// <summary>Counts entries the fused output pass did with <see cref="TryStoredMask"/>'s mask.</summary>
    void Fused(int entries);
}
