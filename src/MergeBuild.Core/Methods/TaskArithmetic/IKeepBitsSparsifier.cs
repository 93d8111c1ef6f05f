namespace MergeBuild.Methods;

/// <summary>
/// A random sparsifier (DARE's, DELLA's) whose statistics pass keeps its mask as bits, which the fused output pass
/// (<see cref="Kernels.StoredMaskedMix"/>) applies by address together with the L1 rescale.
/// </summary>
internal interface IKeepBitsSparsifier
{
    /// <summary>
    /// The chunk's keep bits and rescale as the fused output pass applies them, or false where only
    /// <see cref="IStreamSparsifier.Apply"/> can: the bits were not kept (or not for every chunk), the chunk starts
    /// inside a 16-bit word, or the factor is NaN. The caller reports the elements it did to <see cref="Fused"/>.
    /// </summary>
    bool TryStoredKeep(MergeChunk chunk, out Kernels.StoredMaskedMix.KeptBits kept);

    /// <summary>Counts entries the fused output pass applied from <see cref="TryStoredKeep"/>'s bits.</summary>
    void Fused(int entries);
}
