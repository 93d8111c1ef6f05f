using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace MergeBuild.Methods.Kernels;

/// <summary>
/// A double-precision sum over the elements of one vector (a whole tensor, or one row) in an order fixed by the
/// elements' positions alone: element k goes to lane k mod 16, each lane adds its elements in ascending k, and
/// <see cref="Total"/> adds the lanes in order. The result is therefore the same however the vector is cut into
/// chunks, on any thread and any CPU, while the adds run 16 wide instead of one long dependency chain.
/// </summary>
/// <remarks>
/// Every term is formed in double from float32 values (a square or a product of two floats is exact in double), so
/// the only rounding is in the additions. For a vector of at most 16 elements the result is the plain ascending
/// sum, bit for bit (the other lanes add +0).
/// </remarks>
internal sealed class LaneSum
{
    /// <summary>Number of lanes (the period of the summation order).</summary>
    public const int Width = 16;

    private Lanes16 lanes;

    /// <summary>The sum of everything added since the last <see cref="Clear"/>.</summary>
    public double Total
    {
        get
        {
            var sum = 0.0;
            for (var i = 0; i < Width; i++)
            {
                sum += lanes[i];
            }

            return sum;
        }
    }

    public void Clear() => lanes = default;

    /// <summary>Adds <c>x[i]²</c> for the elements at positions <paramref name="position"/> + i.</summary>
    public void AddSquares(ReadOnlySpan<float> x, long position) => Accumulate(x, x, position);

    /// <summary>Adds <c>a[i]·b[i]</c> (the exact double product of two floats) at positions <paramref name="position"/> + i.</summary>
    public void AddProducts(ReadOnlySpan<float> a, ReadOnlySpan<float> b, long position) => Accumulate(a, b, position);

    /// <summary>Adds the float terms <c>t[i]</c> at positions <paramref name="position"/> + i.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Add(ReadOnlySpan<float> terms, long position)
    {
        var i = Head(terms, terms, position, single: true);
        if (Vector256.IsHardwareAccelerated && terms.Length - i >= Width)
        {
            ref var lane = ref Unsafe.As<Lanes16, double>(ref lanes);
            var a0 = Vector256.LoadUnsafe(ref lane, 0);
            var a1 = Vector256.LoadUnsafe(ref lane, 4);
            var a2 = Vector256.LoadUnsafe(ref lane, 8);
            var a3 = Vector256.LoadUnsafe(ref lane, 12);
            ref var t = ref MemoryMarshal.GetReference(terms);
            for (; i <= terms.Length - Width; i += Width)
            {
                var low = Vector256.LoadUnsafe(ref t, (nuint)i);
                var high = Vector256.LoadUnsafe(ref t, (nuint)i + 8);
                a0 += Vector256.WidenLower(low);
                a1 += Vector256.WidenUpper(low);
                a2 += Vector256.WidenLower(high);
                a3 += Vector256.WidenUpper(high);
            }

            a0.StoreUnsafe(ref lane, 0);
            a1.StoreUnsafe(ref lane, 4);
            a2.StoreUnsafe(ref lane, 8);
            a3.StoreUnsafe(ref lane, 12);
        }

        Tail(terms, terms, position, i, single: true);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Accumulate(ReadOnlySpan<float> a, ReadOnlySpan<float> b, long position)
    {
        var i = Head(a, b, position, single: false);
        if (Vector256.IsHardwareAccelerated && a.Length - i >= Width)
        {
            ref var lane = ref Unsafe.As<Lanes16, double>(ref lanes);
            var a0 = Vector256.LoadUnsafe(ref lane, 0);
            var a1 = Vector256.LoadUnsafe(ref lane, 4);
            var a2 = Vector256.LoadUnsafe(ref lane, 8);
            var a3 = Vector256.LoadUnsafe(ref lane, 12);
            ref var x = ref MemoryMarshal.GetReference(a);
            ref var y = ref MemoryMarshal.GetReference(b);
            for (; i <= a.Length - Width; i += Width)
            {
                var xl = Vector256.LoadUnsafe(ref x, (nuint)i);
                var xh = Vector256.LoadUnsafe(ref x, (nuint)i + 8);
                var yl = Vector256.LoadUnsafe(ref y, (nuint)i);
                var yh = Vector256.LoadUnsafe(ref y, (nuint)i + 8);
                a0 += Vector256.WidenLower(xl) * Vector256.WidenLower(yl);
                a1 += Vector256.WidenUpper(xl) * Vector256.WidenUpper(yl);
                a2 += Vector256.WidenLower(xh) * Vector256.WidenLower(yh);
                a3 += Vector256.WidenUpper(xh) * Vector256.WidenUpper(yh);
            }

            a0.StoreUnsafe(ref lane, 0);
            a1.StoreUnsafe(ref lane, 4);
            a2.StoreUnsafe(ref lane, 8);
            a3.StoreUnsafe(ref lane, 12);
        }

        Tail(a, b, position, i, single: false);
    }

    /// <summary>Adds element by element until the next position is a multiple of 16; returns how many were added.</summary>
    private int Head(ReadOnlySpan<float> a, ReadOnlySpan<float> b, long position, bool single)
    {
        var i = 0;
        while (i < a.Length && ((position + i) & (Width - 1)) != 0)
        {
            AddOne(a[i], b[i], (int)((position + i) & (Width - 1)), single);
            i++;
        }

        return i;
    }

    private void Tail(ReadOnlySpan<float> a, ReadOnlySpan<float> b, long position, int i, bool single)
    {
        for (; i < a.Length; i++)
        {
            AddOne(a[i], b[i], (int)((position + i) & (Width - 1)), single);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void AddOne(float a, float b, int lane, bool single) =>
        lanes[lane] += single ? a : (double)a * b;

    [InlineArray(Width)]
    private struct Lanes16
    {
        private double element;
    }
}
