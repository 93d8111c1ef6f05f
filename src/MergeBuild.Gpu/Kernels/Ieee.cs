using ILGPU;

namespace MergeBuild.Gpu.Kernels;

/// <summary>
/// float32 arithmetic with the x86 CPU's NaN results, so a NaN in a checkpoint gives the same bytes on every device.
/// </summary>
/// <remarks>
/// IEEE 754 fixes every non-NaN result but leaves NaN payloads to the hardware: SSE/AVX return the first NaN operand
/// made quiet, or the "default NaN" 0xFFC00000 for an invalid operation (∞ − ∞, 0 · ∞, 0 / 0), while NVIDIA GPUs
/// return one canonical NaN. After each operation a NaN result is therefore replaced by the one x86 gives. Only NaN
/// results are touched, so this costs nothing on ordinary data. Comparisons are made NaN-free (explicit bit tests)
/// so that ordered versus unordered compare instructions cannot matter either.
/// </remarks>
internal static class Ieee
{
    private const uint AbsMask = 0x7FFF_FFFF;
    private const uint InfinityBits = 0x7F80_0000;
    private const uint QuietBit = 0x0040_0000;
    private const uint DefaultNaN = 0xFFC0_0000;

    public static bool IsNaN(float value) => (Interop.FloatAsInt(value) & AbsMask) > InfinityBits;

    /// <summary>|x| by clearing the sign bit, as .NET's <c>Math.Abs(float)</c> does (a NaN keeps its payload).</summary>
    public static float Abs(float value) => Interop.IntAsFloat(Interop.FloatAsInt(value) & AbsMask);

    public static float Add<TOps>(float a, float b)
        where TOps : struct, IFloatOps => NaNLikeX86(default(TOps).Add(a, b), a, b);

    public static float Sub<TOps>(float a, float b)
        where TOps : struct, IFloatOps => NaNLikeX86(default(TOps).Sub(a, b), a, b);

    public static float Mul<TOps>(float a, float b)
        where TOps : struct, IFloatOps => NaNLikeX86(default(TOps).Mul(a, b), a, b);

    public static float Div<TOps>(float a, float b)
        where TOps : struct, IFloatOps => NaNLikeX86(default(TOps).Div(a, b), a, b);

    /// <summary>The result of <c>a op b</c> as x86 SSE/AVX would give it when it is a NaN.</summary>
    internal static float NaNLikeX86(float result, float a, float b)
    {
        if (!IsNaN(result))
        {
            return result;
        }

        if (IsNaN(a))
        {
            return Interop.IntAsFloat(Interop.FloatAsInt(a) | QuietBit);
        }

        return IsNaN(b) ? Interop.IntAsFloat(Interop.FloatAsInt(b) | QuietBit) : Interop.IntAsFloat(DefaultNaN);
    }
}
