using System.Runtime.Intrinsics;
using MergeBuild.Tensors;

namespace MergeBuild.Methods.Kernels;

/// <summary>
/// A task vector from stored bits: <c>d[i] = D(x[i] − b[i])</c> with x and b the stored bf16 values of a fine-tune and
/// the base, D rounding to the compute dtype (bf16 or float32). One pass reading two stored inputs instead of
/// decoding both into float32 buffers and subtracting those (for a TIES merge the decoding alone was a sixth of its
/// cycles).
/// </summary>
/// <remarks>
/// The same bits as decoding both inputs (exact: a bf16 value is a float32 value) and <see cref="Fused.Difference"/>;
/// <c>StoredKernelTests</c> compare them element by element.
/// </remarks>
internal static unsafe class StoredDifference
{
    /// <param name="roundToBf16">True when the compute dtype is bf16, false for float32.</param>
    /// <param name="fineTune">The address of the fine-tune's first stored bf16 value.</param>
    /// <param name="baseModel">The address of the base model's first stored bf16 value.</param>
    /// <param name="delta">Receives one task-vector value per element (its length is the element count).</param>
    public static void Compute(bool roundToBf16, nint fineTune, nint baseModel, Span<float> delta)
    {
        var x = (ushort*)fineTune;
        var b = (ushort*)baseModel;
        var count = delta.Length;
        fixed (float* d = delta)
        {
            var done = 0;
            if (Vector512.IsHardwareAccelerated)
            {
                done = Compute512(roundToBf16, x, b, count, d);
            }
            else if (Vector256.IsHardwareAccelerated)
            {
                done = Compute256(roundToBf16, x, b, count, d);
            }

            for (var e = done; e < count; e++)
            {
                d[e] = Rounding.Bf16If(roundToBf16, BFloat16.ToSingle(x[e]) - BFloat16.ToSingle(b[e]));
            }
        }
    }

    internal static int Compute512(bool roundToBf16, ushort* x, ushort* b, int count, float* delta)
    {
        const int Step = 32; // one Vector512<ushort>: two Vector512<float>
        var i = 0;
        for (; i <= count - Step; i += Step)
        {
            var (xLower, xUpper) = StoredBf16.Load512(x + i);
            var (bLower, bUpper) = StoredBf16.Load512(b + i);
            Rounding.Bf16OfBf16MathIf(roundToBf16, xLower - bLower).Store(delta + i);
            Rounding.Bf16OfBf16MathIf(roundToBf16, xUpper - bUpper).Store(delta + i + Step / 2);
        }

        return i;
    }

    internal static int Compute256(bool roundToBf16, ushort* x, ushort* b, int count, float* delta)
    {
        const int Step = 16;
        var i = 0;
        for (; i <= count - Step; i += Step)
        {
            var (xLower, xUpper) = StoredBf16.Load256(x + i);
            var (bLower, bUpper) = StoredBf16.Load256(b + i);
            Rounding.Bf16OfBf16MathIf(roundToBf16, xLower - bLower).Store(delta + i);
            Rounding.Bf16OfBf16MathIf(roundToBf16, xUpper - bUpper).Store(delta + i + Step / 2);
        }

        return i;
    }
}
