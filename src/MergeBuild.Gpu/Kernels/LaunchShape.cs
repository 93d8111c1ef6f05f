namespace MergeBuild.Gpu.Kernels;

/// <summary>
/// How one launch covers a chunk: <see cref="Threads"/> logical threads walk the <see cref="Count"/> elements with a
/// grid stride, so each thread handles several elements (the ILGPU CPU emulator pays ~3 µs per logical thread; on a
/// GPU consecutive threads still read consecutive elements). Inputs are packed model after model, Count apart.
/// </summary>
internal readonly struct LaunchShape(int count, int threads)
{
    public readonly int Count = count;

    public readonly int Threads = threads;
}
