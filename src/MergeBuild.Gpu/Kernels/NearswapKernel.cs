using ILGPU;

namespace MergeBuild.Gpu.Kernels;

/// <summary>Scalars of a <c>nearswap</c> launch.</summary>
internal readonly struct NearswapArgs(int rounding, float t, float floor)
{
    public readonly int Rounding = rounding;

    public readonly float T = t;

    /// <summary>1e-6 rounded to the compute dtype.</summary>
    public readonly float Floor = floor;
}

/// <summary>
/// <c>nearswap</c>, the operation sequence of <see cref="Methods.Geometric.NearswapMethod"/>:
/// d = max(|round(b − x)|, floor); w = clamp(round(round(1 / d)·t), 0, 1);
/// out = round(round(w·x) + round(round(1 − w)·b)). max and clamp follow .NET's Math.Max and Math.Clamp (a NaN
/// passes through), written with the NaN case first so the comparisons never see one.
/// </summary>
internal static class NearswapKernel
{
    public static void Run<TOps>(Index1D thread, LaunchShape shape, NearswapArgs args, ArrayView<float> inputs,
        ArrayView<float> baseValues, ArrayView<float> weights, ArrayView<float> output)
        where TOps : struct, IFloatOps
    {
        var r = args.Rounding;
        for (int i = thread; i < shape.Count; i += shape.Threads)
        {
            var x = inputs[i];
            var b = baseValues[i];
            var distance = Ieee.Abs(DeviceRounding.Round(r, Ieee.Sub<TOps>(b, x)));
            if (!Ieee.IsNaN(distance) && !(distance > args.Floor))
            {
                distance = args.Floor;
            }

            var weight = DeviceRounding.Round(r,
                Ieee.Mul<TOps>(DeviceRounding.Round(r, Ieee.Div<TOps>(1f, distance)), args.T));
            if (!Ieee.IsNaN(weight))
            {
                weight = weight < 0f ? 0f : weight > 1f ? 1f : weight;
            }

            var kept = DeviceRounding.Round(r, Ieee.Mul<TOps>(weight, x));
            var complement = DeviceRounding.Round(r, Ieee.Sub<TOps>(1f, weight));
            var fromBase = DeviceRounding.Round(r, Ieee.Mul<TOps>(complement, b));
            output[i] = DeviceRounding.Round(r, Ieee.Add<TOps>(kept, fromBase));
        }
    }
}
