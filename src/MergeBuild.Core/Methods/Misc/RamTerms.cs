using System.Runtime.CompilerServices;
using MergeBuild.Methods.Kernels;

namespace MergeBuild.Methods.Misc;

/// <summary>
/// What RAM and RAM+ share, on lanes of elements: task vectors τᵢ = D(xᵢ − b), which entries count as
/// contributions (|τᵢ| &gt; ε) and how many models contribute to each entry.
/// </summary>
/// <remarks>
/// ε is compared the way torch compares a tensor with a Python number: in the tensor's dtype, so it is rounded to
/// the compute dtype first (bf16: 1e-5 becomes 1.0013580322265625e-5). A NaN entry never counts.
/// </remarks>
internal static class RamTerms
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T TaskVector<TOps, T, TWide>(float[] x, float[] b, nint i)
        where TOps : struct, ILaneOps<T, TWide>
        where T : struct
        where TWide : struct =>
        TOps.Round(TOps.Subtract(TOps.Load(x, i), TOps.Load(b, i)));

    /// <summary>Mask of |τ| &gt; threshold.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Contributes<TOps, T, TWide>(T tau, T threshold)
        where TOps : struct, ILaneOps<T, TWide>
        where T : struct
        where TWide : struct =>
        TOps.GreaterThan(TOps.Abs(tau), threshold);

    /// <summary>The number c of contributing models per entry, as a float.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Contributors<TOps, T, TWide>(float[][] inputs, float[] b, T threshold, nint i)
        where TOps : struct, ILaneOps<T, TWide>
        where T : struct
        where TWide : struct
    {
        var count = TOps.Splat(0f);
        var one = TOps.Splat(1f);
        foreach (var x in inputs)
        {
            var tau = TaskVector<TOps, T, TWide>(x, b, i);
            count = TOps.Add(count, TOps.And(Contributes<TOps, T, TWide>(tau, threshold), one));
        }

        return count;
    }

    /// <summary>
    /// A model's term of an entry shared by several models: D(τᵢ / c) where it contributes, else 0
    /// (<paramref name="shared"/> marks c &gt; 1; where c = 1 the caller uses its own unique term).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T SharedTerm<TOps, T, TWide>(T tau, T contributes, T shared, T count)
        where TOps : struct, ILaneOps<T, TWide>
        where T : struct
        where TWide : struct =>
        TOps.Select(TOps.And(contributes, shared), TOps.Round(TOps.Divide(tau, count)), TOps.Splat(0f));
}
