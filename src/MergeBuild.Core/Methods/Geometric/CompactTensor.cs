using MergeBuild.Tensors;

namespace MergeBuild.Methods.Geometric;

/// <summary>
/// A tensor-sized vector held between passes in the compute dtype's width (bf16: 2 bytes per element), in blocks so
/// tensors beyond 2^31 elements fit. The values stored must already be rounded to that dtype; they read back exactly.
/// </summary>
internal sealed class CompactTensor
{
    private const int BlockShift = 20;
    private const int BlockSize = 1 << BlockShift;

    private readonly bool bf16;
    private readonly float[][] singles = [];
    private readonly ushort[][] halves = [];

    public CompactTensor(DType dtype, long length)
    {
        bf16 = dtype == DType.BF16;
        Length = length;
        var blocks = (int)((length + BlockSize - 1) / BlockSize);
        int Size(int b) => (int)Math.Min(BlockSize, length - ((long)b << BlockShift));
        if (bf16)
        {
            halves = Enumerable.Range(0, blocks).Select(b => new ushort[Size(b)]).ToArray();
        }
        else
        {
            singles = Enumerable.Range(0, blocks).Select(b => new float[Size(b)]).ToArray();
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

    private static (int Block, int Offset, int Length) Locate(long start, int count)
    {
        var block = (int)(start >> BlockShift);
        var offset = (int)(start & (BlockSize - 1));
        return (block, offset, Math.Min(count, BlockSize - offset));
    }
}
