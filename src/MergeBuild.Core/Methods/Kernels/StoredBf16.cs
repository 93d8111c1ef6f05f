using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace MergeBuild.Methods.Kernels;

/// <summary>
/// Stored bf16 values in and out of float32 registers, one vector of stored values (32 or 16) at a time: loading
/// widens exactly (a bf16 value is the upper half of a float32), storing keeps the upper halves of values already
/// rounded to bf16. Shared by the kernels that read and write the memory maps' stored bytes.
/// </summary>
internal static unsafe class StoredBf16
{
    /// <summary>32 stored values as two float32 vectors (lower 16, upper 16).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector512<float> Lower, Vector512<float> Upper) Load512(ushort* at)
    {
        var (lower, upper) = Vector512.Widen(Vector512.Load(at));
        return (Vector512.ShiftLeft(lower, 16).AsSingle(), Vector512.ShiftLeft(upper, 16).AsSingle());
    }

    /// <summary>16 stored values as two float32 vectors (lower 8, upper 8).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector256<float> Lower, Vector256<float> Upper) Load256(ushort* at)
    {
        var (lower, upper) = Vector256.Widen(Vector256.Load(at));
        return (Vector256.ShiftLeft(lower, 16).AsSingle(), Vector256.ShiftLeft(upper, 16).AsSingle());
    }

    /// <summary>Stores two float32 vectors already rounded to bf16 as 32 stored values.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store512(ushort* at, Vector512<float> lower, Vector512<float> upper) =>
        Vector512.Narrow(Vector512.ShiftRightLogical(lower.AsUInt32(), 16),
            Vector512.ShiftRightLogical(upper.AsUInt32(), 16)).Store(at);

    /// <summary>Stores two float32 vectors already rounded to bf16 as 16 stored values.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store256(ushort* at, Vector256<float> lower, Vector256<float> upper) =>
        Vector256.Narrow(Vector256.ShiftRightLogical(lower.AsUInt32(), 16),
            Vector256.ShiftRightLogical(upper.AsUInt32(), 16)).Store(at);
}
