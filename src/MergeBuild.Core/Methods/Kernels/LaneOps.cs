using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using MergeBuild.Tensors;

namespace MergeBuild.Methods.Kernels;

/// <summary>
/// Rounding to a compute dtype, for one value and for a whole <see cref="Vector{T}"/>, chosen by type so a kernel
/// is compiled once per dtype with the rounding inlined.
/// </summary>
internal interface IRounding
{
    /// <summary>False when only the scalar rounding is fast (the kernel then runs element by element).</summary>
    static abstract bool Vectorized { get; }

    static abstract float Round(float value);

    static abstract Vector<float> Round(Vector<float> value);
}

/// <summary>float32 (and float64) compute: no rounding.</summary>
internal readonly struct NoRounding : IRounding
{
    public static bool Vectorized => true;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Round(float value) => value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Round(Vector<float> value) => value;
}

/// <summary>bf16 compute: round to nearest even in registers, exactly <see cref="BFloat16.Round"/>.</summary>
internal readonly struct Bf16Rounding : IRounding
{
    public static bool Vectorized => true;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Round(float value) => BFloat16.Round(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Round(Vector<float> value)
    {
        var bits = value.As<float, uint>();
        var rounded = (bits + new Vector<uint>(0x7FFFu) + ((bits >> 16) & Vector<uint>.One)) & new Vector<uint>(0xFFFF0000u);
        var quietNaN = (bits | new Vector<uint>(0x00400000u)) & new Vector<uint>(0xFFFF0000u);
        var isNaN = ~Vector.Equals(value, value).As<int, uint>();
        return Vector.ConditionalSelect(isNaN, quietNaN, rounded).As<uint, float>();
    }
}

/// <summary>f16 compute: the runtime's scalar conversion (kernels run element by element for it).</summary>
internal readonly struct F16Rounding : IRounding
{
    public static bool Vectorized => false;

    public static float Round(float value) => Float16.Round(value);

    public static Vector<float> Round(Vector<float> value)
    {
        Span<float> values = stackalloc float[Vector<float>.Count];
        value.CopyTo(values);
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = Float16.Round(values[i]);
        }

        return new Vector<float>(values);
    }
}

/// <summary>
/// The element operations of a kernel on <typeparamref name="T"/> = one float or one <see cref="Vector{T}"/> of
/// floats (and <typeparamref name="TWide"/> = the same lanes in double), so each kernel's arithmetic is written once
/// and runs vectorized over whole vectors and element by element over the tail, with bit-identical results: every
/// operation is the same IEEE operation in both forms, and nothing is fused.
/// </summary>
/// <remarks>Masks are values of <typeparamref name="T"/> whose bits are all ones (true) or all zeros (false).</remarks>
internal interface ILaneOps<T, TWide>
    where T : struct
    where TWide : struct
{
    static abstract T Load(float[] source, nint index);

    static abstract void Store(float[] destination, nint index, T value);

    static abstract T Splat(float value);

    /// <summary>Rounds to the compute dtype.</summary>
    static abstract T Round(T value);

    static abstract T Add(T a, T b);

    static abstract T Subtract(T a, T b);

    static abstract T Multiply(T a, T b);

    static abstract T Divide(T a, T b);

    static abstract T Abs(T value);

    static abstract T LessThan(T a, T b);

    static abstract T GreaterThan(T a, T b);

    static abstract T Equal(T a, T b);

    static abstract T And(T a, T b);

    static abstract T Or(T a, T b);

    static abstract T Not(T mask);

    /// <summary><paramref name="mask"/> ? <paramref name="whenTrue"/> : <paramref name="whenFalse"/>, per lane.</summary>
    static abstract T Select(T mask, T whenTrue, T whenFalse);

    /// <summary>True when any lane of <paramref name="mask"/> is set.</summary>
    static abstract bool Any(T mask);

    static abstract TWide Widen(T value);

    /// <summary>double → float, rounding to nearest even like a C# cast.</summary>
    static abstract T Narrow(TWide value);

    static abstract TWide WideSplat(double value);

    static abstract TWide WideAdd(TWide a, TWide b);

    static abstract TWide WideSubtract(TWide a, TWide b);

    static abstract TWide WideMultiply(TWide a, TWide b);

    static abstract TWide WideDivide(TWide a, TWide b);
}

/// <summary>A <see cref="Vector{T}"/> of floats as two vectors of doubles.</summary>
internal readonly struct WideVector(Vector<double> lower, Vector<double> upper)
{
    public readonly Vector<double> Lower = lower;
    public readonly Vector<double> Upper = upper;
}

/// <summary>The vectorized form of the lane operations.</summary>
internal readonly struct VectorLanes<TRounding> : ILaneOps<Vector<float>, WideVector>
    where TRounding : struct, IRounding
{
    private static readonly Vector<float> AllBits = Vector<uint>.AllBitsSet.As<uint, float>();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Load(float[] source, nint index) =>
        Vector.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(source), (nuint)index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(float[] destination, nint index, Vector<float> value) =>
        value.StoreUnsafe(ref MemoryMarshal.GetArrayDataReference(destination), (nuint)index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Splat(float value) => new(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Round(Vector<float> value) => TRounding.Round(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Add(Vector<float> a, Vector<float> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Subtract(Vector<float> a, Vector<float> b) => a - b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Multiply(Vector<float> a, Vector<float> b) => a * b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Divide(Vector<float> a, Vector<float> b) => a / b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Abs(Vector<float> value) => Vector.Abs(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> LessThan(Vector<float> a, Vector<float> b) => Vector.LessThan(a, b).As<int, float>();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> GreaterThan(Vector<float> a, Vector<float> b) => Vector.GreaterThan(a, b).As<int, float>();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Equal(Vector<float> a, Vector<float> b) => Vector.Equals(a, b).As<int, float>();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> And(Vector<float> a, Vector<float> b) => a & b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Or(Vector<float> a, Vector<float> b) => a | b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Not(Vector<float> mask) => mask ^ AllBits;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Select(Vector<float> mask, Vector<float> whenTrue, Vector<float> whenFalse) =>
        Vector.ConditionalSelect(mask, whenTrue, whenFalse);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Any(Vector<float> mask) => mask.As<float, uint>() != Vector<uint>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static WideVector Widen(Vector<float> value)
    {
        Vector.Widen(value, out var lower, out var upper);
        return new WideVector(lower, upper);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Narrow(WideVector value) => Vector.Narrow(value.Lower, value.Upper);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static WideVector WideSplat(double value) => new(new Vector<double>(value), new Vector<double>(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static WideVector WideAdd(WideVector a, WideVector b) => new(a.Lower + b.Lower, a.Upper + b.Upper);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static WideVector WideSubtract(WideVector a, WideVector b) => new(a.Lower - b.Lower, a.Upper - b.Upper);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static WideVector WideMultiply(WideVector a, WideVector b) => new(a.Lower * b.Lower, a.Upper * b.Upper);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static WideVector WideDivide(WideVector a, WideVector b) => new(a.Lower / b.Lower, a.Upper / b.Upper);
}

/// <summary>The element-by-element form of the lane operations (tails, and dtypes without a vector rounding).</summary>
internal readonly struct ScalarLanes<TRounding> : ILaneOps<float, double>
    where TRounding : struct, IRounding
{
    private static readonly float AllBits = BitConverter.UInt32BitsToSingle(uint.MaxValue);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Load(float[] source, nint index) =>
        Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(source), index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(float[] destination, nint index, float value) =>
        Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(destination), index) = value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Splat(float value) => value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Round(float value) => TRounding.Round(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Add(float a, float b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Subtract(float a, float b) => a - b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Multiply(float a, float b) => a * b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Divide(float a, float b) => a / b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Abs(float value) => Math.Abs(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float LessThan(float a, float b) => a < b ? AllBits : 0f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float GreaterThan(float a, float b) => a > b ? AllBits : 0f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Equal(float a, float b) => a == b ? AllBits : 0f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float And(float a, float b) =>
        BitConverter.UInt32BitsToSingle(BitConverter.SingleToUInt32Bits(a) & BitConverter.SingleToUInt32Bits(b));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Or(float a, float b) =>
        BitConverter.UInt32BitsToSingle(BitConverter.SingleToUInt32Bits(a) | BitConverter.SingleToUInt32Bits(b));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Not(float mask) => BitConverter.UInt32BitsToSingle(~BitConverter.SingleToUInt32Bits(mask));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Select(float mask, float whenTrue, float whenFalse) =>
        BitConverter.SingleToUInt32Bits(mask) != 0 ? whenTrue : whenFalse;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Any(float mask) => BitConverter.SingleToUInt32Bits(mask) != 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double Widen(float value) => value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Narrow(double value) => (float)value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double WideSplat(double value) => value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double WideAdd(double a, double b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double WideSubtract(double a, double b) => a - b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double WideMultiply(double a, double b) => a * b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double WideDivide(double a, double b) => a / b;
}

/// <summary>A kernel body: computes the elements at <c>i … i + width − 1</c> with the operations of <typeparamref name="TOps"/>.</summary>
internal interface ILaneKernel
{
    void Run<TOps, T, TWide>(nint i)
        where TOps : struct, ILaneOps<T, TWide>
        where T : struct
        where TWide : struct;
}

/// <summary>Runs a <see cref="ILaneKernel"/> over a range: whole vectors first, then the tail element by element.</summary>
internal static class Lanes
{
    /// <summary>Runs <paramref name="kernel"/> over <c>[0, count)</c> with <paramref name="dtype"/>'s rounding.</summary>
    public static void ForEach<TKernel>(DType dtype, ref TKernel kernel, int count)
        where TKernel : struct, ILaneKernel
    {
        switch (dtype)
        {
            case DType.BF16:
                ForEach<TKernel, Bf16Rounding>(ref kernel, count);
                break;
            case DType.F16:
                ForEach<TKernel, F16Rounding>(ref kernel, count);
                break;
            default:
                ForEach<TKernel, NoRounding>(ref kernel, count);
                break;
        }
    }

    // Fully optimized from the first call: a merge runs these loops over gigabytes within seconds, too soon for
    // tiered compilation to replace slow first-tier code. Never inlined into the dtype switch, so each kernel and
    // rounding gets the JIT's whole inlining budget (a kernel with a step left as a call is several times slower).
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static void ForEach<TKernel, TRounding>(ref TKernel kernel, int count)
        where TKernel : struct, ILaneKernel
        where TRounding : struct, IRounding
    {
        nint i = 0;
        if (TRounding.Vectorized && Vector.IsHardwareAccelerated)
        {
            var width = Vector<float>.Count;
            for (; i <= count - width; i += width)
            {
                kernel.Run<VectorLanes<TRounding>, Vector<float>, WideVector>(i);
            }
        }

        for (; i < count; i++)
        {
            kernel.Run<ScalarLanes<TRounding>, float, double>(i);
        }
    }
}
