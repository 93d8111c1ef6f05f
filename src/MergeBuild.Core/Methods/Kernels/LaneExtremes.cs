using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace MergeBuild.Methods.Kernels;

/// <summary>
/// The smallest and the largest lane of an unsigned vector, folded in registers.
/// </summary>
/// <remarks>
/// Reading lanes by index (<c>v[lane]</c> in a loop) makes the JIT give the vector a home in memory; a vector
/// accumulated in a loop before such a reduction was then stored and reloaded in every iteration of that loop.
/// </remarks>
internal static class LaneExtremes
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Min(Vector512<uint> v) => Min(Vector256.Min(v.GetLower(), v.GetUpper()));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Min(Vector256<uint> v)
    {
        var x = Vector128.Min(v.GetLower(), v.GetUpper());
        x = Vector128.Min(x, Vector128.Shuffle(x, Vector128.Create(2u, 3, 0, 1)));
        return Vector128.Min(x, Vector128.Shuffle(x, Vector128.Create(1u, 0, 3, 2))).ToScalar();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Max(Vector512<uint> v) => Max(Vector256.Max(v.GetLower(), v.GetUpper()));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Max(Vector256<uint> v)
    {
        var x = Vector128.Max(v.GetLower(), v.GetUpper());
        x = Vector128.Max(x, Vector128.Shuffle(x, Vector128.Create(2u, 3, 0, 1)));
        return Vector128.Max(x, Vector128.Shuffle(x, Vector128.Create(1u, 0, 3, 2))).ToScalar();
    }
}
