namespace MergeBuild.Methods;

/// <summary>
/// Which part of a tensor a call to <see cref="IMergeMethod.Merge"/> computes, and the run's seed. Randomized
/// methods key their draws on (seed, model, tensor name, <see cref="Start"/> + i), so a chunk gets the same numbers
/// whatever the chunking, thread count or device.
/// </summary>
/// <param name="Start">Flat index of the chunk's first element in the tensor.</param>
/// <param name="Count">Elements in the chunk.</param>
/// <param name="Seed">The run's random seed.</param>
public readonly record struct MergeChunk(long Start, int Count, ulong Seed);
