using ILGPU;

namespace MergeBuild.Gpu.Kernels;

/// <summary>Scalars of a <c>ram</c> launch.</summary>
internal readonly struct RamArgs(int models, int rounding, float threshold)
{
    public readonly int Models = models;

    public readonly int Rounding = rounding;

    /// <summary>ε rounded to the compute dtype.</summary>
    public readonly float Threshold = threshold;
}

/// <summary>
/// <c>ram</c>, the operation sequence of <see cref="Methods.Misc.RamMethod"/>: τᵢ = round(xᵢ − b); nzᵢ = |τᵢ| &gt; ε;
/// c = Σ nzᵢ; s = +0, then s += τᵢ where only model i contributes, round(τᵢ / c) where several do, +0 otherwise;
/// out = round(b + round(s)). Element-wise, so it streams here although the CPU method gathers the whole tensor.
/// </summary>
internal static class RamKernel
{
    public static void Run<TOps>(Index1D thread, LaunchShape shape, RamArgs args, ArrayView<float> inputs,
        ArrayView<float> baseValues, ArrayView<float> weights, ArrayView<float> output)
        where TOps : struct, IFloatOps
    {
        var r = args.Rounding;
        for (int i = thread; i < shape.Count; i += shape.Threads)
        {
            var b = baseValues[i];
            var contributors = 0;
            for (var m = 0; m < args.Models; m++)
            {
                if (Contributes(Tau<TOps>(inputs, shape, m, i, b, r), args.Threshold))
                {
                    contributors++;
                }
            }

            var merged = 0f;
            for (var m = 0; m < args.Models; m++)
            {
                // τ is recomputed rather than stored: registers are cheaper than a per-model scratch buffer.
                var tau = Tau<TOps>(inputs, shape, m, i, b, r);
                var term = 0f;
                if (Contributes(tau, args.Threshold))
                {
                    term = contributors == 1 ? tau : DeviceRounding.Round(r, Ieee.Div<TOps>(tau, contributors));
                }

                merged = Ieee.Add<TOps>(merged, term);
            }

            output[i] = DeviceRounding.Round(r, Ieee.Add<TOps>(b, DeviceRounding.Round(r, merged)));
        }
    }

    private static float Tau<TOps>(ArrayView<float> inputs, LaunchShape shape, int model, int i, float b, int rounding)
        where TOps : struct, IFloatOps =>
        DeviceRounding.Round(rounding, Ieee.Sub<TOps>(inputs[(long)model * shape.Count + i], b));

    /// <summary>|τ| &gt; ε, false for a NaN (as the CPU's comparison).</summary>
    private static bool Contributes(float tau, float threshold) => !Ieee.IsNaN(tau) && Ieee.Abs(tau) > threshold;
}
