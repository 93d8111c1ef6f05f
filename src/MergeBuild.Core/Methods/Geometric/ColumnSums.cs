using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace MergeBuild.Methods.Geometric;

/// <summary>
/// Double-precision sums per column (vectors along dim 0): element <c>c</c> of a row is added to
/// <c>sums[c]</c>. Rows arrive in flat order, so every column is summed in ascending row order — the order of a
/// plain loop over the vector — while one row's columns are added 4 at a time.
/// </summary>
internal static class ColumnSums
{
    /// <summary><c>sums[c] += x[c]²</c>.</summary>
    public static void AddSquares(Span<double> sums, ReadOnlySpan<float> x) => Accumulate(sums, x, x, products: true);

    /// <summary><c>sums[c] += t[c]</c>.</summary>
    public static void Add(Span<double> sums, ReadOnlySpan<float> terms) => Accumulate(sums, terms, terms, products: false);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Accumulate(Span<double> sums, ReadOnlySpan<float> a, ReadOnlySpan<float> b, bool products)
    {
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref var s = ref MemoryMarshal.GetReference(sums);
            ref var x = ref MemoryMarshal.GetReference(a);
            ref var y = ref MemoryMarshal.GetReference(b);
            for (; i <= a.Length - 8; i += 8)
            {
                var xv = Vector256.LoadUnsafe(ref x, (nuint)i);
                var low = Vector256.WidenLower(xv);
                var high = Vector256.WidenUpper(xv);
                if (products)
                {
                    var yv = Vector256.LoadUnsafe(ref y, (nuint)i);
                    low *= Vector256.WidenLower(yv);
                    high *= Vector256.WidenUpper(yv);
                }

                (Vector256.LoadUnsafe(ref s, (nuint)i) + low).StoreUnsafe(ref s, (nuint)i);
                (Vector256.LoadUnsafe(ref s, (nuint)i + 4) + high).StoreUnsafe(ref s, (nuint)i + 4);
            }
        }

        for (; i < a.Length; i++)
        {
            sums[i] += products ? (double)a[i] * b[i] : a[i];
        }
    }
}
