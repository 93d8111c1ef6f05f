using System.Collections.Concurrent;
using MergeBuild.Tensors;

namespace MergeBuild.Methods.Geometric;

/// <summary>
/// A tensor-sized vector held between passes in the compute dtype's width (bf16: 2 bytes per element), in blocks so
/// tensors beyond 2^31 elements fit. The values stored must already be rounded to that dtype; they read back exactly.
/// </summary>
/// <remarks>
/// Blocks come from a process-wide pool and go back on <see cref="Release"/>: a merge holds one such vector per
/// running tensor, and reusing the blocks keeps resident memory at that, where fresh arrays for every tensor would
/// let the garbage collector's large-object heap grow to several times it before collecting (measured: 0.9 GB
/// resident instead of 0.33 GB for karcher over 0.5 GB models).
/// </remarks>
internal sealed class CompactTensor
{
    private const int BlockShift = 20;
    private const int BlockSize = 1 << BlockShift;

    private readonly bool bf16;
    private float[][] singles = [];
    private ushort[][] halves = [];

    public CompactTensor(DType dtype, long length)
    {
        bf16 = dtype == DType.BF16;
        Length = length;
        var blocks = (int)((length + BlockSize - 1) / BlockSize);
        if (bf16)
        {
            halves = Enumerable.Range(0, blocks).Select(_ => BlockPool<ushort>.Rent()).ToArray();
        }
        else
        {
            singles = Enumerable.Range(0, blocks).Select(_ => BlockPool<float>.Rent()).ToArray();
        }
    }

    public long Length { get; }

    /// <summary>Bytes per element: what the tensor costs in memory.</summary>
    public static long BytesPerElement(DType dtype) => dtype == DType.BF16 ? 2 : 4;

    /// <summary>Copies <paramref name="destination"/>.Length values starting at <paramref name="start"/>.</summary>
    public void Read(long start, Span<float> destination)
    {
        while (!destination.IsEmpty)
        {
            var (block, offset, length) = Locate(start, destination.Length);
            if (bf16)
            {
                BFloat16.ToSingle(halves[block].AsSpan(offset, length), destination[..length]);
            }
            else
            {
                singles[block].AsSpan(offset, length).CopyTo(destination);
            }

            start += length;
            destination = destination[length..];
        }
    }

    /// <summary>Stores <paramref name="source"/> starting at <paramref name="start"/>.</summary>
    public void Write(long start, ReadOnlySpan<float> source)
    {
        while (!source.IsEmpty)
        {
            var (block, offset, length) = Locate(start, source.Length);
            if (bf16)
            {
                BFloat16.FromSingle(source[..length], halves[block].AsSpan(offset, length));
            }
            else
            {
                source[..length].CopyTo(singles[block].AsSpan(offset, length));
            }

            start += length;
            source = source[length..];
        }
    }

    /// <summary>Gives the blocks back to the pool; the tensor must not be used afterwards.</summary>
    public void Release()
    {
        foreach (var block in halves)
        {
            BlockPool<ushort>.Return(block);
        }

        foreach (var block in singles)
        {
            BlockPool<float>.Return(block);
        }

        halves = [];
        singles = [];
    }

    private static (int Block, int Offset, int Length) Locate(long start, int count)
    {
        var block = (int)(start >> BlockShift);
        var offset = (int)(start & (BlockSize - 1));
        return (block, offset, Math.Min(count, BlockSize - offset));
    }

    /// <summary>
    /// Released blocks, held weakly: the next tensor reuses them instead of allocating, so the large-object heap
    /// does not grow, and the next full collection frees whatever no tensor took (nothing outlives the merge).
    /// </summary>
    private static class BlockPool<T>
    {
        private static readonly ConcurrentBag<WeakReference<T[]>> Free = [];

        public static T[] Rent()
        {
            while (Free.TryTake(out var reference))
            {
                if (reference.TryGetTarget(out var block))
                {
                    return block;
                }
            }

            return new T[BlockSize];
        }

        public static void Return(T[] block) => Free.Add(new WeakReference<T[]>(block));
    }
}
