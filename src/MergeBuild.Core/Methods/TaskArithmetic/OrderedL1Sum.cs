using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using MergeBuild.Methods.Kernels;
using MergeBuild.Tensors;

namespace MergeBuild.Methods;

/// <summary>
/// Σ|x| over a tensor fed chunk by chunk in index order, bit-identical to <see cref="L1Rescale.Norm"/>'s sequential
/// double sum over the whole tensor, but vectorized whenever that is provably the same number.
/// </summary>
/// <remarks>
/// A chunk is summed in vector lanes (any order) when every partial sum in any order is exact: all values and the
/// running sum are integer multiples of a quantum q (from the smallest nonzero exponent and the compute dtype's
/// fraction bits), so if the total stays below 2⁵²·q every addition is exact, in lanes as in sequence. Otherwise —
/// tiny values next to a large running sum, float32 data, NaN or infinity — the chunk is added one element at a time,
/// exactly as the whole-tensor code does.
/// </remarks>
internal sealed class OrderedL1Sum
{
    private readonly int fractionBits;

    /// <param name="dtype">The dtype every value is already rounded to (sets the quantum of a value).</param>
    public OrderedL1Sum(DType dtype)
    {
        fractionBits = dtype switch
        {
            DType.BF16 => 7,
            DType.F16 => 10,
            _ => 23,
        };
    }

    /// <summary>The running sum in double, as the whole-tensor loop would hold it after the same elements.</summary>
    public double Sum { get; private set; }

    /// <summary>The norm as <see cref="L1Rescale.Norm"/> returns it: rounded to float32, then to <paramref name="dtype"/>.</summary>
    public float Rounded(DType dtype) => FloatCodec.Round(dtype, (float)Sum);

    /// <summary>Adds |v| for each value, in order.</summary>
    public void Add(ReadOnlySpan<float> values)
    {
        var (chunk, minExponent, maxExponent) = Scan(values);
        if (!TryAdd(chunk, minExponent, maxExponent))
        {
            AddSequentially(values);
        }
    }

    /// <summary>Adds |v| for each value one at a time, exactly as the whole-tensor loop does.</summary>
    public void AddSequentially(ReadOnlySpan<float> values)
    {
        var sum = Sum;
        foreach (var v in values)
        {
            sum += Math.Abs(v);
        }

        Sum = sum;
    }

    /// <summary>
    /// Adds a chunk summed in lanes when that is provably the sequential sum; false (nothing added) otherwise.
    /// </summary>
    /// <param name="chunk">Σ|v| of the chunk in double, in any order.</param>
    /// <param name="minExponent">The smallest exponent field among the chunk's nonzero values (0xFF if none), or of a
    /// superset of them (a finer quantum only makes the test stricter).</param>
    /// <param name="maxExponent">The largest exponent field among the values (0xFF: a NaN or infinity).</param>
    public bool TryAdd(double chunk, uint minExponent, uint maxExponent)
    {
        var sum = Sum;
        if (!double.IsFinite(sum) || maxExponent == 0xFF)
        {
            return false;
        }

        if (minExponent == 0xFF)
        {
            // Only zeros: the sequential loop adds +0 to a non-negative sum, which leaves it unchanged.
            return true;
        }

        // Every value is a multiple of 2^quantum: a normal float with exponent field e and f fraction bits (after
        // rounding to the compute dtype) is m·2^(e − 127 − f); subnormals are multiples of 2^−149.
        var quantum = minExponent == 0 ? -149 : (int)minExponent - 127 - fractionBits;
        if (sum != 0)
        {
            var bits = BitConverter.DoubleToUInt64Bits(sum);
            var exponent = (int)(bits >> 52) & 0x7FF;
            if (exponent == 0)
            {
                return false;
            }

            var mantissa = bits & ((1UL << 52) - 1);
            var lowest = exponent - 1075 + (mantissa == 0 ? 52 : BitOperations.TrailingZeroCount(mantissa));
            quantum = Math.Min(quantum, lowest);
        }

        // The lane sums carry a relative error far below 1/2 even if inexact, so total < 2^(52+q) proves the exact
        // total is below 2^(53+q), which makes every partial sum representable: the lanes were exact all along.
        var total = sum + chunk;
        if (!(total < Math.ScaleB(1.0, 52 + quantum)))
        {
            return false;
        }

        Sum = total;
        return true;
    }

    /// <summary>Σ|v| in double lanes, and the smallest nonzero and the largest exponent field.</summary>
    /// <remarks>Exponent fields: <c>(bits &gt;&gt; 23) &amp; 0xFF</c>, as <see cref="TryAdd"/> expects them.</remarks>
    // Its own JIT root: inlined into a large caller, the JIT would run out of budget to inline the vector helpers.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (double Sum, uint MinExponent, uint MaxExponent) Scan(ReadOnlySpan<float> values)
    {
        const uint AbsMask = 0x7FFF_FFFF;
        var i = 0;
        var sum = 0.0;
        uint min = 0xFF, max = 0;
        ref var first = ref MemoryMarshal.GetReference(values);
        if (Vector512.IsHardwareAccelerated && values.Length >= 16)
        {
            var sum0 = Vector512<double>.Zero;
            var sum1 = Vector512<double>.Zero;
            var minV = Vector512.Create(0xFFu);
            var maxV = Vector512<uint>.Zero;
            for (; i <= values.Length - 16; i += 16)
            {
                var bits = Vector512.LoadUnsafe(ref first, (nuint)i).AsUInt32() & Vector512.Create(AbsMask);
                var exponent = Vector512.ShiftRightLogical(bits, 23);
                var zero = Vector512.Equals(bits, Vector512<uint>.Zero);
                minV = Vector512.Min(minV, Vector512.ConditionalSelect(zero, Vector512.Create(0xFFu), exponent));
                maxV = Vector512.Max(maxV, exponent);
                var magnitude = bits.AsSingle();
                sum0 += Vector512.WidenLower(magnitude);
                sum1 += Vector512.WidenUpper(magnitude);
            }

            sum = Vector512.Sum(sum0 + sum1);
            min = LaneExtremes.Min(minV);
            max = LaneExtremes.Max(maxV);
        }
        else if (Vector256.IsHardwareAccelerated && values.Length >= 8)
        {
            var sum0 = Vector256<double>.Zero;
            var sum1 = Vector256<double>.Zero;
            var minV = Vector256.Create(0xFFu);
            var maxV = Vector256<uint>.Zero;
            for (; i <= values.Length - 8; i += 8)
            {
                var bits = Vector256.LoadUnsafe(ref first, (nuint)i).AsUInt32() & Vector256.Create(AbsMask);
                var exponent = Vector256.ShiftRightLogical(bits, 23);
                var zero = Vector256.Equals(bits, Vector256<uint>.Zero);
                minV = Vector256.Min(minV, Vector256.ConditionalSelect(zero, Vector256.Create(0xFFu), exponent));
                maxV = Vector256.Max(maxV, exponent);
                var magnitude = bits.AsSingle();
                sum0 += Vector256.WidenLower(magnitude);
                sum1 += Vector256.WidenUpper(magnitude);
            }

            sum = Vector256.Sum(sum0 + sum1);
            min = LaneExtremes.Min(minV);
            max = LaneExtremes.Max(maxV);
        }

        for (; i < values.Length; i++)
        {
            var bits = BitConverter.SingleToUInt32Bits(values[i]) & AbsMask;
            var exponent = bits >> 23;
            if (bits != 0)
            {
                min = Math.Min(min, exponent);
            }

            max = Math.Max(max, exponent);
            sum += BitConverter.UInt32BitsToSingle(bits);
        }

        return (sum, min, max);
    }
}
