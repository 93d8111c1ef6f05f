using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using MergeBuild.Tensors;

namespace MergeBuild.Methods.Kernels;

/// <summary>
/// The vectorized form of <see cref="TaskVectorMixer.Mix"/>: one pass over a chunk computes every output element from
/// the (sparsified) task vectors, rounding to the compute dtype after each torch op exactly as the scalar code does.
/// Where two NaNs meet in a sum, the first operand's NaN wins, as in the scalar code.
/// </summary>
/// <remarks>
/// float32 and bf16 run in 512- or 256-bit vectors (bf16 rounding in registers); float16, whose rounding has no
/// register form here, and non-finite weights or lambda (where a NaN could meet another in a product) use the scalar
/// mixer. The sums start from the first term, not from zero, so a sum of −0
/// terms stays −0 as in torch; the consensus sums add +0 for disagreeing models, which never changes a partial sum
/// (it starts at +0 and adds nonzero terms, so it is never −0).
/// </remarks>
internal static class TaskVectorMix
{
    /// <summary>
    /// Mixes <paramref name="deltas"/> (each at least output.Length long) into <paramref name="output"/>; with consensus
    /// the deltas may be overwritten with the weighted deltas.
    /// </summary>
    /// <param name="dtype">The compute dtype D.</param>
    /// <param name="deltas">The task vectors, one per model in recipe order.</param>
    /// <param name="weights">The weights, already rounded to D.</param>
    /// <param name="baseValues">The base model's values.</param>
    /// <param name="output">Receives D(b + mixed).</param>
    /// <param name="consensus">TIES sign election before mixing.</param>
    /// <param name="normalize">Divide by the summed weights (of the agreeing models, with consensus).</param>
    /// <param name="lambda">Scale of the merged task vector.</param>
    public static void Mix(DType dtype, float[][] deltas, ReadOnlySpan<float> weights, ReadOnlySpan<float> baseValues,
        Span<float> output, bool consensus, bool normalize, double lambda)
    {
        if (dtype is not (DType.F32 or DType.BF16) || !AllFinite(weights) || double.IsNaN(lambda))
        {
            TaskVectorMixer.Mix(deltas, weights, baseValues, output, consensus, normalize, lambda, dtype);
            return;
        }

        var settings = new Settings(dtype == DType.BF16, normalize, lambda != 1.0, (float)lambda,
            consensus ? 1f : LinearDivisor(weights, dtype));
        var done = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            done = consensus
                ? Consensus512(deltas, weights, baseValues, output, settings)
                : Linear512(deltas, weights, baseValues, output, settings);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            done = consensus
                ? Consensus256(deltas, weights, baseValues, output, settings)
                : Linear256(deltas, weights, baseValues, output, settings);
        }

        for (var e = done; e < output.Length; e++)
        {
            output[e] = Element(deltas, e, weights, baseValues[e], consensus, settings.Divisor, settings, dtype);
        }
    }

    /// <summary>One output element, with the vector loops' rounding and NaN rules (the tail of a chunk).</summary>
    private static float Element(float[][] deltas, int e, ReadOnlySpan<float> weights, float baseValue, bool consensus,
        float linearDivisor, Settings s, DType dtype)
    {
        var models = deltas.Length;
        var vote = FloatCodec.Round(dtype, deltas[0][e] * weights[0]);
        for (var m = 1; m < models; m++)
        {
            vote = AddFirst(vote, FloatCodec.Round(dtype, deltas[m][e] * weights[m]));
        }

        vote = FloatCodec.Round(dtype, vote);
        float mixed, divisor;
        if (consensus)
        {
            var positive = vote >= 0;
            mixed = 0f;
            divisor = 0f;
            for (var m = 0; m < models; m++)
            {
                var v = FloatCodec.Round(dtype, deltas[m][e] * weights[m]);
                if (positive ? v > 0 : v < 0)
                {
                    mixed += v;
                    divisor += weights[m];
                }
            }

            mixed = FloatCodec.Round(dtype, mixed);
            divisor = FloatCodec.Round(dtype, divisor);
            divisor = divisor == 0 ? 1f : divisor;
        }
        else
        {
            mixed = vote;
            divisor = linearDivisor;
        }

        if (s.Normalize)
        {
            mixed = FloatCodec.Round(dtype, mixed / divisor);
        }

        if (s.ApplyLambda)
        {
            mixed = FloatCodec.Round(dtype, mixed * s.Lambda);
        }

        return FloatCodec.Round(dtype, AddFirst(mixed, baseValue));
    }

    /// <inheritdoc cref="AddFirst(Vector512{float}, Vector512{float})"/>
    internal static float AddFirst(float a, float b) =>
        float.IsNaN(a) ? BitConverter.UInt32BitsToSingle(BitConverter.SingleToUInt32Bits(a) | 0x0040_0000u) : a + b;

    private static bool AllFinite(ReadOnlySpan<float> weights)
    {
        foreach (var w in weights)
        {
            if (!float.IsFinite(w))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Without consensus the divisor is Σw over all models, 1 where it is below D(1e-8) in magnitude.</summary>
    internal static float LinearDivisor(ReadOnlySpan<float> weights, DType dtype)
    {
        var weightSum = 0f;
        foreach (var w in weights)
        {
            weightSum += w;
        }

        weightSum = FloatCodec.Round(dtype, weightSum);
        return Math.Abs(weightSum) < FloatCodec.Round(dtype, 1e-8f) ? 1f : weightSum;
    }

    internal readonly record struct Settings(bool Bf16, bool Normalize, bool ApplyLambda, float Lambda, float Divisor);

    /// <summary>
    /// a + b, returning a's NaN (quieted) when a is NaN, as the scalar <c>a + b</c> does on x86 when both are NaN. The
    /// JIT may swap the operands of a vector add, which would pick b's NaN instead.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> AddFirst(Vector512<float> a, Vector512<float> b) =>
        Vector512.ConditionalSelect(Vector512.Equals(a, a), a + b, (a.AsUInt32() | Vector512.Create(0x0040_0000u)).AsSingle());

    /// <inheritdoc cref="AddFirst(Vector512{float}, Vector512{float})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> AddFirst(Vector256<float> a, Vector256<float> b) =>
        Vector256.ConditionalSelect(Vector256.Equals(a, a), a + b, (a.AsUInt32() | Vector256.Create(0x0040_0000u)).AsSingle());

    /// <summary>
    /// The vote's sign without rounding it: <c>D(vote) ≥ 0</c> exactly when <c>vote ≥ −2⁻¹³⁴</c> for bf16 (half the
    /// smallest bf16 subnormal rounds to −0, anything below it to a negative number; NaN fails both) and
    /// <c>vote ≥ 0</c> for float32.
    /// </summary>
    internal static float VoteFloor(bool bf16) => bf16 ? BitConverter.UInt32BitsToSingle(0x8000_8000u) : 0f;

    /// <summary>
    /// The consensus divisor of every set of agreeing models (bit m set when model m agrees): their weights summed in
    /// recipe order, rounded to D, 0 replaced by 1, as <see cref="Element"/> and <see cref="TaskVectorMixer"/> compute
    /// it. With few models a lane looks its divisor up instead of summing and rounding it.
    /// </summary>
    internal static void DivisorTable(ReadOnlySpan<float> weights, bool bf16, Span<float> table)
    {
        for (var agreeing = 0; agreeing < table.Length; agreeing++)
        {
            var sum = 0f;
            for (var m = 0; m < weights.Length; m++)
            {
                sum += (agreeing >> m & 1) != 0 ? weights[m] : 0f;
            }

            sum = Rounding.Bf16If(bf16, sum);
            table[agreeing] = sum == 0 ? 1f : sum;
        }
    }

    /// <summary>
    /// <c>D(d·w)</c>; a weight of 1 leaves d as it is (d is already in D, so the product and its rounding change nothing).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> Weighted(Vector512<float> delta, float weight, bool bf16) =>
        weight == 1f ? delta : Rounding.Bf16OfBf16MathIf(bf16, delta * Vector512.Create(weight));

    /// <inheritdoc cref="Weighted(Vector512{float}, float, bool)"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Weighted(Vector256<float> delta, float weight, bool bf16) =>
        weight == 1f ? delta : Rounding.Bf16OfBf16MathIf(bf16, delta * Vector256.Create(weight));

    // Its own JIT root: inlined into a large caller, the JIT would run out of budget to inline the vector helpers.
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static int Linear512(float[][] deltas, ReadOnlySpan<float> weights, ReadOnlySpan<float> baseValues,
        Span<float> output, Settings s)
    {
        const int N = 16;
        var models = deltas.Length;
        var i = 0;
        for (; i <= output.Length - N; i += N)
        {
            var mixed = Weighted(Vector512.Create(deltas[0].AsSpan(i, N)), weights[0], s.Bf16);
            for (var m = 1; m < models; m++)
            {
                mixed = AddFirst(mixed, Weighted(Vector512.Create(deltas[m].AsSpan(i, N)), weights[m], s.Bf16));
            }

            Finish512(Rounding.Bf16OfBf16MathIf(s.Bf16, mixed), Vector512.Create(s.Divisor), baseValues, output, i, s);
        }

        return i;
    }

    // Its own JIT root: inlined into a large caller, the JIT would run out of budget to inline the vector helpers.
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static int Linear256(float[][] deltas, ReadOnlySpan<float> weights, ReadOnlySpan<float> baseValues,
        Span<float> output, Settings s)
    {
        const int N = 8;
        var models = deltas.Length;
        var i = 0;
        for (; i <= output.Length - N; i += N)
        {
            var mixed = Weighted(Vector256.Create(deltas[0].AsSpan(i, N)), weights[0], s.Bf16);
            for (var m = 1; m < models; m++)
            {
                mixed = AddFirst(mixed, Weighted(Vector256.Create(deltas[m].AsSpan(i, N)), weights[m], s.Bf16));
            }

            Finish256(Rounding.Bf16OfBf16MathIf(s.Bf16, mixed), Vector256.Create(s.Divisor), baseValues, output, i, s);
        }

        return i;
    }

    // Its own JIT root: inlined into a large caller, the JIT would run out of budget to inline the vector helpers.
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static int Consensus512(float[][] deltas, ReadOnlySpan<float> weights, ReadOnlySpan<float> baseValues,
        Span<float> output, Settings s)
    {
        const int N = 16;
        var models = deltas.Length;
        var lookUp = models <= 4 && Avx512F.IsSupported;
        Span<float> divisors = stackalloc float[N];
        DivisorTable(lookUp ? weights : [], s.Bf16, divisors);
        var table = Vector512.Create<float>(divisors);
        var floor = Vector512.Create(VoteFloor(s.Bf16));
        Span<Vector512<float>> terms = stackalloc Vector512<float>[models];
        var i = 0;
        for (; i <= output.Length - N; i += N)
        {
            // The vote: the sign of D(Σ vᵢ) (a NaN sum elects −, as `sum >= 0` is false).
            // vᵢ = D(dᵢ·wᵢ) is kept for the second look.
            var vote = Vector512<float>.Zero;
            for (var m = 0; m < models; m++)
            {
                terms[m] = Weighted(Vector512.Create(deltas[m].AsSpan(i, N)), weights[m], s.Bf16);
                vote = m == 0 ? terms[m] : AddFirst(vote, terms[m]);
            }

            var (mixed, divisor) = Agreeing(terms, 1, 0, Vector512.GreaterThanOrEqual(vote, floor), weights, lookUp, table, s.Bf16);
            Finish512(mixed, divisor, baseValues, output, i, s);
        }

        return i;
    }

    /// <summary>
    /// The terms that agree with the elected sign (<paramref name="positive"/>: + where all bits are set), term m at
    /// <c>terms[stride·m + offset]</c>, summed from +0 in recipe order and rounded; and their divisor: the agreeing
    /// models' weights summed and rounded (looked up in <paramref name="table"/> for up to four models), 1 where 0.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static (Vector512<float> Sum, Vector512<float> Divisor) Agreeing(ReadOnlySpan<Vector512<float>> terms,
        int stride, int offset, Vector512<float> positive, ReadOnlySpan<float> weights, bool lookUp,
        Vector512<float> table, bool bf16)
    {
        var mixed = Vector512<float>.Zero;
        var divisor = Vector512<float>.Zero;
        var agreeing = Vector512<int>.Zero;

        // A term agrees when it has the elected sign and is not ±0 or NaN: with its sign flipped where − was elected,
        // when it is above +0 (one compare instead of a compare per sign and their blend).
        var flip = Vector512.AndNot(Vector512.Create(0x8000_0000u), positive.AsUInt32());
        for (var m = 0; m < weights.Length; m++)
        {
            var v = terms[stride * m + offset];
            var agree = Vector512.GreaterThan((v.AsUInt32() ^ flip).AsSingle(), Vector512<float>.Zero);
            mixed += v & agree;
            if (lookUp)
            {
                agreeing |= agree.AsInt32() & Vector512.Create(1 << m);
            }
            else
            {
                divisor += Vector512.Create(weights[m]) & agree;
            }
        }

        if (lookUp)
        {
            divisor = Avx512F.PermuteVar16x32(table, agreeing);
        }
        else
        {
            divisor = Rounding.Bf16OfBf16MathIf(bf16, divisor);
            divisor = Vector512.ConditionalSelect(Vector512.Equals(divisor, Vector512<float>.Zero), Vector512<float>.One, divisor);
        }

        return (Rounding.Bf16OfBf16MathIf(bf16, mixed), divisor);
    }

    // Its own JIT root: inlined into a large caller, the JIT would run out of budget to inline the vector helpers.
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static int Consensus256(float[][] deltas, ReadOnlySpan<float> weights, ReadOnlySpan<float> baseValues,
        Span<float> output, Settings s)
    {
        const int N = 8;
        var models = deltas.Length;
        var lookUp = models <= 3 && Avx2.IsSupported;
        Span<float> divisors = stackalloc float[N];
        DivisorTable(lookUp ? weights : [], s.Bf16, divisors);
        var table = Vector256.Create<float>(divisors);
        var floor = Vector256.Create(VoteFloor(s.Bf16));
        var i = 0;
        for (; i <= output.Length - N; i += N)
        {
            // vᵢ = D(dᵢ·wᵢ) is kept in place of dᵢ for the second loop.
            var vote = Vector256<float>.Zero;
            for (var m = 0; m < models; m++)
            {
                var weighted = Weighted(Vector256.Create(deltas[m].AsSpan(i, N)), weights[m], s.Bf16);
                if (weights[m] != 1f)
                {
                    weighted.CopyTo(deltas[m].AsSpan(i));
                }

                vote = m == 0 ? weighted : AddFirst(vote, weighted);
            }

            var positive = Vector256.GreaterThanOrEqual(vote, floor);
            var mixed = Vector256<float>.Zero;
            var divisor = Vector256<float>.Zero;
            var agreeing = Vector256<int>.Zero;
            for (var m = 0; m < models; m++)
            {
                var v = Vector256.Create(deltas[m].AsSpan(i, N));
                var agree = (positive & Vector256.GreaterThan(v, Vector256<float>.Zero)) |
                            Vector256.AndNot(Vector256.LessThan(v, Vector256<float>.Zero), positive);
                mixed += v & agree;
                if (lookUp)
                {
                    agreeing |= agree.AsInt32() & Vector256.Create(1 << m);
                }
                else
                {
                    divisor += Vector256.Create(weights[m]) & agree;
                }
            }

            if (lookUp)
            {
                divisor = Avx2.PermuteVar8x32(table, agreeing);
            }
            else
            {
                divisor = Rounding.Bf16OfBf16MathIf(s.Bf16, divisor);
                divisor = Vector256.ConditionalSelect(Vector256.Equals(divisor, Vector256<float>.Zero), Vector256<float>.One, divisor);
            }

            Finish256(Rounding.Bf16OfBf16MathIf(s.Bf16, mixed), divisor, baseValues, output, i, s);
        }

        return i;
    }

    /// <summary>normalize, lambda and the base: <c>out = D(b + D(D(mixed / divisor) · λ))</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Finish512(Vector512<float> mixed, Vector512<float> divisor, ReadOnlySpan<float> baseValues,
        Span<float> output, int i, Settings s)
    {
        if (s.Normalize)
        {
            mixed = Rounding.Bf16OfBf16MathIf(s.Bf16, mixed / divisor);
        }

        if (s.ApplyLambda)
        {
            mixed = Rounding.Bf16OfBf16MathIf(s.Bf16, mixed * Vector512.Create(s.Lambda));
        }

        Rounding.Bf16OfBf16MathIf(s.Bf16, AddFirst(mixed, Vector512.Create(baseValues.Slice(i, 16)))).CopyTo(output.Slice(i));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Finish256(Vector256<float> mixed, Vector256<float> divisor, ReadOnlySpan<float> baseValues,
        Span<float> output, int i, Settings s)
    {
        if (s.Normalize)
        {
            mixed = Rounding.Bf16OfBf16MathIf(s.Bf16, mixed / divisor);
        }

        if (s.ApplyLambda)
        {
            mixed = Rounding.Bf16OfBf16MathIf(s.Bf16, mixed * Vector256.Create(s.Lambda));
        }

        Rounding.Bf16OfBf16MathIf(s.Bf16, AddFirst(mixed, Vector256.Create(baseValues.Slice(i, 8)))).CopyTo(output.Slice(i));
    }
}
